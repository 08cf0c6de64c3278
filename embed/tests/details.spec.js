import { test, expect } from './fixtures.js'

// What a new user met in their first hour: each finding as a test.

const uniq = (p) => `${p}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`

async function signup(browser, name, options = {}) {
  const context = await browser.newContext(options)
  const page = await context.newPage()
  await page.addInitScript(() => {
    // record permission prompts instead of showing them
    window.__asked = 0
    if (window.Notification) window.Notification.requestPermission = async () => (window.__asked++, 'default')
  })
  await page.goto('/signup')
  await page.getByLabel('Username').fill(name)
  await page.getByLabel('Password').fill('a good password')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await expect(page.getByRole('button', { name: 'New chat' })).toBeVisible()
  return { context, page }
}

const api = (page, method, path, data) => page.request.fetch('/api/v1' + path, { method, data }).then((r) => r.json())

test('delivered arrives for messages received while offline, with the chat closed', async ({ browser }) => {
  const aliceName = uniq('alice')
  const bobName = uniq('bob')
  const alice = await signup(browser, aliceName)
  const bob = await signup(browser, bobName)
  const a = alice.page
  const b = bob.page
  const { user: bobUser } = await api(b, 'GET', '/me')
  const { conversation } = await api(a, 'POST', '/direct', { user_id: bobUser.id })
  await bob.context.setOffline(true)
  await a.goto(`/c/${conversation.id}`)
  const composer = a.getByRole('textbox', { name: 'Message' })
  await composer.fill('sent while you were away')
  await composer.press('Enter')
  const status = a.getByTestId('message').last().locator('[data-status]')
  await expect(status).toHaveAttribute('data-status', 'sent')
  // bob comes back and syncs, but does not open the chat
  await bob.context.setOffline(false)
  await expect(b.getByRole('link', { name: new RegExp(`${aliceName}.*1 unread`) })).toBeVisible({ timeout: 40_000 })
  await expect(status).toHaveAttribute('data-status', 'delivered')
  await alice.context.close()
  await bob.context.close()
})

test('time and ticks stay inside the bubble at phone width, in both themes', async ({ browser }) => {
  for (const colorScheme of ['light', 'dark']) {
    const me = await signup(browser, uniq('p'), { viewport: { width: 360, height: 740 }, colorScheme })
    const other = await signup(browser, uniq('q'))
    const { user } = await api(other.page, 'GET', '/me')
    const { conversation } = await api(me.page, 'POST', '/direct', { user_id: user.id })
    await me.page.goto(`/c/${conversation.id}`)
    const composer = me.page.getByRole('textbox', { name: 'Message' })
    // a last line that fills the bubble's width
    for (const body of ['xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'a few words that wrap onto a full second line here']) {
      await composer.fill(body)
      await composer.press('Enter')
      const msg = me.page.getByTestId('message').last()
      await expect(msg.locator('[data-status]')).toHaveAttribute('data-status', /sent|delivered/)
      const bubble = await msg.locator('div.rounded-2xl').boundingBox()
      const meta = await msg.getByTestId('message-meta').boundingBox()
      expect(meta.x).toBeGreaterThanOrEqual(bubble.x)
      expect(meta.y).toBeGreaterThanOrEqual(bubble.y)
      expect(meta.x + meta.width).toBeLessThanOrEqual(bubble.x + bubble.width + 0.5)
      expect(meta.y + meta.height).toBeLessThanOrEqual(bubble.y + bubble.height + 0.5)
    }
    await me.page.screenshot({ path: `test-results/bubble-${colorScheme}-360.png` })
    await me.context.close()
    await other.context.close()
  }
})

test('empty and missing: an archived only chat, a conversation that does not exist', async ({ browser }) => {
  const me = await signup(browser, uniq('e'))
  const other = await signup(browser, uniq('f'))
  const p = me.page
  const { user } = await api(other.page, 'GET', '/me')
  const { conversation } = await api(p, 'POST', '/direct', { user_id: user.id })
  await api(p, 'PATCH', `/conversations/${conversation.id}`, { archived: true })
  await p.goto('/')
  await expect(p.getByTestId('no-chats')).toContainText('No chats here')
  await p.getByRole('link', { name: 'show them' }).click()
  await expect(p.getByRole('list', { name: 'Archived chats' }).getByRole('listitem')).toHaveCount(1)

  await p.goto('/c/999999')
  await expect(p.getByRole('alert')).toContainText('does not exist')
  await expect(p.getByRole('textbox', { name: 'Message' })).toHaveCount(0)
  await p.getByRole('link', { name: 'Back to your chats' }).click()
  await expect(p).toHaveURL(/\/$/)
  await me.context.close()
  await other.context.close()
})

test('notifications are asked for from a button, never on a send', async ({ browser }) => {
  const me = await signup(browser, uniq('n'))
  const other = await signup(browser, uniq('o'))
  const p = me.page
  const { user } = await api(other.page, 'GET', '/me')
  const { conversation } = await api(p, 'POST', '/direct', { user_id: user.id })
  await p.goto(`/c/${conversation.id}`)
  const composer = p.getByRole('textbox', { name: 'Message' })
  await composer.fill('no prompt for this')
  await composer.press('Enter')
  await expect(p.getByTestId('message').last()).toContainText('no prompt for this')
  expect(await p.evaluate(() => window.__asked)).toBe(0)
  await p.goto('/profile')
  await expect(p.getByRole('heading', { name: 'Desktop notifications' })).toBeVisible()
  await p.getByRole('region', { name: 'Desktop notifications' }).getByRole('button', { name: 'Turn on notifications' }).click()
  expect(await p.evaluate(() => window.__asked)).toBe(1)
  await me.context.close()
  await other.context.close()
})

test('with sign-up closed, the login page does not offer it', async ({ page }) => {
  await page.route('**/api/v1/config', (route) => route.fulfill({ json: { signup: 'closed', version: 'test' } }))
  await page.goto('/login')
  await expect(page.getByText('Sign-up is closed on this server')).toBeVisible()
  await expect(page.getByRole('link', { name: 'Create an account' })).toHaveCount(0)
})

test('channels: one name per run of messages, receipts on hover, "1 member"', async ({ browser }) => {
  const owner = await signup(browser, uniq('g'))
  const p = owner.page
  const { group } = await api(p, 'POST', '/groups', { name: 'Solo' })
  await p.goto(`/g/${group.id}`)
  await expect(p.getByText('1 member ·')).toBeVisible()
  const friend = await signup(browser, uniq('h'))
  const { user } = await api(friend.page, 'GET', '/me')
  await api(p, 'POST', `/groups/${group.id}/members`, { user_id: user.id })
  const channel = group.channels[0].id
  for (const body of ['one', 'two', 'three']) {
    await api(friend.page, 'POST', `/conversations/${channel}/messages`, { client_id: body, body })
  }
  await p.goto(`/g/${group.id}/c/${channel}`)
  const msgs = p.getByTestId('message')
  await expect(msgs).toHaveCount(3)
  await expect(msgs.nth(0).getByText(user.username, { exact: true })).toHaveCount(1)
  await expect(msgs.nth(1).getByText(user.username, { exact: true })).toHaveCount(0)
  const composer = p.getByRole('textbox', { name: 'Message' })
  await composer.fill('mine')
  await composer.press('Enter')
  const readBy = msgs.last().getByTestId('read-by')
  await expect(readBy).toHaveCSS('opacity', '0')
  await msgs.last().hover()
  await expect(readBy).toHaveCSS('opacity', '1')
  await owner.context.close()
  await friend.context.close()
})

test('a channel of more than 100 members shows read counts without listing every member', async ({ browser, playwright }) => {
  test.setTimeout(120_000)
  const owner = await signup(browser, uniq('big'))
  const p = owner.page
  const { group } = await api(p, 'POST', '/groups', { name: 'Everyone' })
  const channel = group.channels[0].id
  const { message } = await api(p, 'POST', `/conversations/${channel}/messages`, { client_id: 'hello', body: 'hello, all of you' })
  // 101 more members, three of whom read the message
  const members = []
  for (let i = 0; i < 101; i++) {
    const ctx = await playwright.request.newContext({ baseURL: p.url() })
    const r = await ctx.post('/api/v1/auth/signup', { data: { username: uniq('m'), password: 'a good password' } })
    members.push({ ctx, id: (await r.json()).user.id })
  }
  await api(p, 'POST', `/groups/${group.id}/members`, { user_ids: members.map((m) => m.id) })
  for (const m of members.slice(0, 3)) {
    expect((await m.ctx.post(`/api/v1/conversations/${channel}/receipts`, { data: { read_seq: message.seq } })).status()).toBe(204)
  }
  // this page may open the channel from its cached size first (1 member)
  // and count once a sync corrects it
  await p.goto(`/g/${group.id}/c/${channel}`)
  const mine = p.getByTestId('message').last()
  await mine.hover()
  const readBy = mine.getByTestId('read-by')
  await expect(readBy).toHaveText('read by 3 of 101')
  await expect(readBy).toHaveAttribute('title', 'Read by 3 members')
  // a new message is read by nobody yet
  const composer = p.getByRole('textbox', { name: 'Message' })
  await composer.fill('one more')
  await composer.press('Enter')
  await p.getByTestId('message').last().hover()
  await expect(p.getByTestId('message').last().getByTestId('read-by')).toHaveText('read by 0 of 101')
  // a device with nothing cached counts from the start and never lists
  // the channel's 102 watermarks
  const fresh = await browser.newContext()
  const f = await fresh.newPage()
  const listed = []
  f.on('request', (r) => { if (new URL(r.url()).pathname.endsWith(`/conversations/${channel}/receipts`)) listed.push(r.method()) })
  const { user: me } = await api(p, 'GET', '/me')
  expect((await f.request.post('/api/v1/auth/login', { data: { username: me.username, password: 'a good password' } })).ok()).toBe(true)
  await f.goto(`/g/${group.id}/c/${channel}`)
  await f.getByTestId('message').nth(-2).hover()
  await expect(f.getByTestId('message').nth(-2).getByTestId('read-by')).toHaveText('read by 3 of 101')
  expect(listed.filter((m) => m === 'GET')).toEqual([])
  for (const m of members) await m.ctx.dispose()
  await fresh.close()
  await owner.context.close()
})

test('access tokens: made, shown once, work as a Bearer token, revoked', async ({ page }) => {
  await page.goto('/signup')
  await page.getByLabel('Username').fill(`tok${Date.now().toString(36)}`)
  await page.getByLabel('Password').fill('a good password')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.getByRole('link', { name: 'Your profile' }).click()
  await page.getByLabel('Token name').fill('deploy script')
  await page.getByRole('button', { name: 'Create token' }).click()
  const box = page.getByTestId('token-secret')
  await expect(box).toContainText('deploy script')
  const secret = (await box.locator('code').textContent()).trim()
  expect(secret).toMatch(/^pat_/)
  const list = page.getByRole('list', { name: 'Your tokens' })
  await expect(list).toContainText('deploy script')
  await expect(list).toContainText('no expiry')
  // the secret works on its own, without the browser's cookie
  const ctx = await page.context().browser().newContext()
  const bearer = { headers: { Authorization: `Bearer ${secret}` } }
  expect((await ctx.request.get('/api/v1/me', bearer)).status()).toBe(200)
  await page.getByRole('button', { name: 'Revoke deploy script' }).click()
  await expect(list).toContainText('No tokens.')
  await expect(box).toHaveCount(0)
  expect((await ctx.request.get('/api/v1/me', bearer)).status()).toBe(401)
  await ctx.close()
})

test('bots: made from the profile, chat with their secret, marked as bots, deleted', async ({ page }) => {
  const me = `own${Date.now().toString(36)}`
  await page.goto('/signup')
  await page.getByLabel('Username').fill(me)
  await page.getByLabel('Password').fill('a good password')
  await page.getByRole('button', { name: 'Sign up' }).click()
  await page.getByRole('link', { name: 'Your profile' }).click()
  const botName = `b${Date.now().toString(36)}`
  await page.getByLabel('New bot’s username').fill(botName)
  await page.getByLabel('New bot’s name').fill('Build Bot')
  await page.getByRole('button', { name: 'Create bot' }).click()
  const secret = (await page.getByTestId('bot-secret').locator('code').textContent()).trim()
  await expect(page.getByRole('list', { name: 'Your bots' })).toContainText('Build Bot')
  // the bot, with its secret only, opens a chat with its owner and says something
  const ctx = await page.context().browser().newContext()
  const auth = { Authorization: `Bearer ${secret}` }
  const { user: owner } = await (await page.request.get('/api/v1/me')).json()
  const { conversation } = await (await ctx.request.post('/api/v1/direct', { headers: auth, data: { user_id: owner.id } })).json()
  expect((await ctx.request.post(`/api/v1/conversations/${conversation.id}/messages`, { headers: auth, data: { client_id: 'b1', body: 'build 42 is green' } })).status()).toBe(201)
  await page.goto(`/c/${conversation.id}`)
  await expect(page.getByTestId('message').filter({ hasText: 'build 42 is green' })).toBeVisible()
  await expect(page.getByRole('heading', { level: 1 }).getByTestId('bot-badge')).toBeVisible()
  await expect(page.getByRole('link', { name: /Build Bot/ }).getByTestId('bot-badge')).toBeVisible()
  // deleted: its secret stops at once
  await page.getByRole('link', { name: 'Your profile' }).click()
  await page.getByRole('button', { name: `Delete ${botName}` }).click()
  await expect(page.getByRole('list', { name: 'Your bots' })).toContainText('No bots.')
  expect((await ctx.request.get('/api/v1/me', { headers: auth })).status()).toBe(401)
  await ctx.close()
})
