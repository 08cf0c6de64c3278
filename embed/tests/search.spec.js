import { test, expect } from './fixtures.js'

// Search: a word, a prefix and a Chinese phrase find a message among many;
// a hit opens its conversation at the message, highlighted, far back in
// the history; filters narrow it down.

const uniq = (p) => `${p}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`

async function signup(browser, name) {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto('/signup')
  await page.getByLabel('Username').fill(name)
  await page.getByLabel('Password').fill('a good password')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await expect(page.getByRole('button', { name: 'New chat' })).toBeVisible()
  return page
}

const api = (page, method, path, data) => page.request.fetch('/api/v1' + path, { method, data }).then((r) => r.json())

test('search finds a message by a word, a prefix or Chinese, and opens it in context', async ({ browser }) => {
  test.setTimeout(90_000)
  const a = await signup(browser, uniq('alice'))
  const b = await signup(browser, uniq('bob'))
  const { user: bobUser } = await api(b, 'GET', '/me')
  const { conversation } = await api(a, 'POST', '/direct', { user_id: bobUser.id })
  const send = (page, i, body) => api(page, 'POST', `/conversations/${conversation.id}/messages`, { client_id: `s${i}`, body })
  // the needle, then a long history after it
  const marker = uniq('zebra')
  await send(a, 0, `the ${marker} deployment checklist is ready`)
  await send(b, 1, '请检查部署服务器的配置')
  for (let i = 2; i < 130; i++) await send(i % 2 ? a : b, i, `filler message number ${i}`)

  await b.goto(`/c/${conversation.id}`)
  await expect(b.getByTestId('message').filter({ hasText: 'filler message number 129' })).toBeVisible()
  // opened from the search button, then a prefix of the word
  await b.getByRole('button', { name: 'Search' }).click()
  const box = b.getByRole('combobox', { name: 'Go to conversation' })
  await expect(box).toBeFocused()
  await box.fill(marker.slice(0, -2))
  const hit = b.getByTestId('search-hit')
  await expect(hit).toHaveCount(1)
  await expect(hit).toContainText('deployment checklist')
  await expect(hit.locator('mark')).toHaveText(marker.slice(0, -2))
  await expect(b.getByTestId('search-group')).toHaveCount(1)
  // a hit opens the conversation at the message, highlighted
  await hit.click()
  const found = b.getByTestId('message').filter({ hasText: 'deployment checklist' })
  await expect(found).toBeInViewport()
  await expect(found).toHaveAttribute('data-highlighted', 'true')

  // from elsewhere (no chat open): the hit opens its chat at the message
  await b.goto('/')
  await expect(b.getByRole('button', { name: 'New chat' })).toBeVisible()
  await b.keyboard.press('/')
  await box.fill(marker)
  await hit.click()
  await expect(found).toBeInViewport()
  await expect(b).toHaveURL(new RegExp(`/c/${conversation.id}$`))

  // Chinese, by a substring; Ctrl+K opens the same box
  await b.keyboard.press('Control+k')
  await box.fill('部署服务器')
  await expect(hit).toHaveCount(1)
  await expect(hit).toContainText('请检查部署服务器的配置')
  await expect(hit.locator('mark')).toHaveText('部署服务器')
  // from a person: alice said none of it
  const { user: aliceUser } = await api(a, 'GET', '/me')
  await b.getByLabel('From').selectOption(String(aliceUser.id))
  await expect(b.getByTestId('search-none')).toBeVisible()
  await b.keyboard.press('Escape')
  await expect(box).toHaveCount(0)

  // a stranger finds nothing of it; / opens the box where no text is typed
  const eve = await signup(browser, uniq('eve'))
  await eve.keyboard.press('/')
  await eve.getByRole('combobox', { name: 'Go to conversation' }).fill(marker)
  await expect(eve.getByTestId('search-none')).toBeVisible()
})
