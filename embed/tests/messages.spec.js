import { test, expect } from './fixtures.js'
import { uniq, signup, api, bubble } from './people.js'

// Two people edit, delete, reply, react and mention each other, live, in a
// direct chat and in a channel. Copy is a button: the clipboard is allowed.

const clipboard = { permissions: ['clipboard-read', 'clipboard-write'] }

async function say(page, text) {
  const composer = page.getByRole('textbox', { name: 'Message' })
  await composer.fill(text)
  await composer.press('Enter')
}

test('edit, delete, reply, react and mention in a direct chat, live', async ({ browser }) => {
  test.setTimeout(90_000)
  const aliceName = uniq('alice')
  const bobName = uniq('bob')
  const alice = await signup(browser, aliceName, clipboard)
  const bob = await signup(browser, bobName, clipboard)
  const a = alice.page
  const b = bob.page
  const { user: bobUser } = await api(b, 'GET', '/me')
  const { conversation } = await api(a, 'POST', '/direct', { user_id: bobUser.id })
  await a.goto(`/c/${conversation.id}`)

  // Markdown renders; raw HTML is text
  await say(a, 'Hello **Bob**, see `make test` and https://example.com')
  await expect(bubble(a, 'Hello').locator('strong')).toHaveText('Bob')
  await b.goto(`/c/${conversation.id}`)
  const hello = bubble(b, 'Hello')
  await expect(hello.locator('code')).toHaveText('make test')
  await expect(hello.getByRole('link', { name: 'https://example.com' })).toHaveAttribute('target', '_blank')
  await expect(hello.getByRole('link', { name: 'https://example.com' })).toHaveAttribute('rel', 'noopener noreferrer')
  await say(b, '<script>window.pwned = 1</script><b>not bold</b>')
  await expect(bubble(a, 'window.pwned')).toContainText('<script>window.pwned = 1</script><b>not bold</b>')
  expect(await a.evaluate(() => window.pwned)).toBeUndefined()
  await expect(bubble(a, 'window.pwned').locator('b')).toHaveCount(0)

  // edit in place with Up; the other browser sees it, with the history
  await say(a, 'Lets meat at 10')
  await expect(bubble(a, 'Lets meat')).toBeVisible()
  // Up edits nothing while the send is on its way, then the new message
  const box = a.getByRole('textbox', { name: 'Edit message' })
  await expect(async () => {
    await a.getByRole('textbox', { name: 'Message' }).press('ArrowUp')
    await expect(box).toBeVisible({ timeout: 500 })
  }).toPass()
  await expect(box).toHaveValue('Lets meat at 10')
  await box.fill("Let's meet at 10")
  await box.press('Enter')
  await expect(bubble(b, "Let's meet at 10")).toBeVisible()
  await bubble(b, "Let's meet at 10").getByRole('button', { name: /Edited/ }).click()
  await expect(b.getByRole('region', { name: 'Earlier versions' })).toContainText('Lets meat at 10')
  // Esc cancels an edit
  await a.getByRole('textbox', { name: 'Message' }).press('ArrowUp')
  await a.getByRole('textbox', { name: 'Edit message' }).fill('never mind')
  await a.getByRole('textbox', { name: 'Edit message' }).press('Escape')
  await expect(bubble(a, "Let's meet at 10")).toBeVisible()

  // react and un-react: chips with counts, live on the other side
  const meet = bubble(b, "Let's meet at 10")
  await meet.hover()
  await meet.getByRole('button', { name: 'React 👍' }).click()
  await expect(bubble(a, "Let's meet at 10").getByRole('button', { name: /👍 1/ })).toBeVisible()
  await bubble(a, "Let's meet at 10").getByRole('button', { name: /👍 1/ }).click()
  await expect(bubble(b, "Let's meet at 10").getByRole('button', { name: /👍 2/ })).toBeVisible()
  await bubble(b, "Let's meet at 10").getByRole('button', { name: /👍 2/ }).click()
  await expect(bubble(a, "Let's meet at 10").getByRole('button', { name: /👍 1/ })).toHaveAttribute('aria-pressed', 'true')
  // the picker, with search
  await bubble(b, 'Hello').hover()
  await bubble(b, 'Hello').getByRole('button', { name: 'More reactions' }).click()
  await expect(b.getByRole('dialog', { name: 'Pick an emoji' })).toBeVisible()
  await b.keyboard.press('Escape')

  // reply: a quote bar, then the quote in the message; clicking it finds the original
  await bubble(b, 'Hello').hover()
  await bubble(b, 'Hello').getByRole('button', { name: 'Reply' }).click()
  await expect(b.getByRole('status', { name: 'Replying' })).toContainText('Hello Bob')
  await say(b, 'Thanks!')
  const reply = bubble(a, 'Thanks!')
  await expect(reply.getByTestId('quote')).toContainText('Hello Bob')
  await reply.getByTestId('quote').click()
  await expect(bubble(a, 'Hello').first()).toHaveAttribute('data-highlighted', 'true')

  // delete: a tombstone on both sides
  await bubble(a, "Let's meet at 10").hover()
  await bubble(a, "Let's meet at 10").getByRole('button', { name: 'Delete' }).click()
  await a.getByRole('dialog').getByRole('button', { name: 'Delete' }).click()
  await expect(b.getByTestId('tombstone')).toHaveText('This message was deleted')
  await expect(b.getByText("Let's meet at 10")).toHaveCount(0)

  // everything survives a reload
  await b.reload()
  await expect(b.getByTestId('tombstone')).toHaveCount(1)
  await expect(bubble(b, 'Thanks!').getByTestId('quote')).toContainText('Hello Bob')
  await alice.context.close()
  await bob.context.close()
})

test('an @mention in a channel raises a badge, and autocomplete offers members', async ({ browser }) => {
  test.setTimeout(60_000)
  const ownerName = uniq('own')
  const memberName = uniq('mem')
  const owner = await signup(browser, ownerName, clipboard)
  const member = await signup(browser, memberName, clipboard)
  const o = owner.page
  const m = member.page
  const { group } = await api(o, 'POST', '/groups', { name: 'Crew' })
  const { user: mu } = await api(m, 'GET', '/me')
  await api(o, 'POST', `/groups/${group.id}/members`, { user_id: mu.id })
  const channel = group.channels[0].id
  await m.goto('/')
  await o.goto(`/g/${group.id}/c/${channel}`)
  const composer = o.getByRole('textbox', { name: 'Message' })
  await composer.pressSequentially('ping @' + memberName.slice(0, 4))
  await expect(o.getByRole('listbox', { name: 'Mention someone' })).toContainText(memberName)
  await composer.press('Enter') // takes the suggestion
  await expect(composer).toHaveValue(`ping @${memberName} `)
  await composer.press('Enter')
  // the member sees the @ badge on the channel, and the mention marked
  const row = m.getByRole('link', { name: /# general.*mentioned/ })
  await expect(row.getByTestId('mentions')).toBeVisible()
  await row.click()
  await expect(m.locator('.mention-me')).toHaveText('@' + memberName)
  await expect(m.getByRole('link', { name: /# general.*mentioned/ })).toHaveCount(0)
  await owner.context.close()
  await member.context.close()
})

test('a reply to a message far back loads it and shows it in place', async ({ browser }) => {
  const me = await signup(browser, uniq('far'), clipboard)
  const other = await signup(browser, uniq('wide'), clipboard)
  const { user } = await api(other.page, 'GET', '/me')
  const { conversation } = await api(me.page, 'POST', '/direct', { user_id: user.id })
  const post = (page, body, extra = {}) => api(page, 'POST', `/conversations/${conversation.id}/messages`, { client_id: uniq('c'), body, ...extra })
  await post(me.page, 'the very first message')
  for (let i = 0; i < 70; i++) await post(other.page, `filler ${i}`)
  await post(other.page, 'answering the first', { reply_to_seq: 1 })
  await me.page.goto(`/c/${conversation.id}`)
  const original = me.page.getByTestId('message').filter({ has: me.page.locator('.markdown', { hasText: 'the very first message' }) })
  const reply = bubble(me.page, 'answering the first')
  await expect(reply.getByTestId('quote')).toContainText('the very first message')
  await expect(original).toHaveCount(0)
  await reply.getByTestId('quote').click()
  await expect(original).toHaveAttribute('data-highlighted', 'true')
  await expect(original).toBeInViewport()
  await me.context.close()
  await other.context.close()
})

test('an edit that arrives while the history is on its way is not undone by it', async ({ browser }) => {
  const alice = await signup(browser, uniq('alice'))
  const bob = await signup(browser, uniq('bob'))
  const a = alice.page
  const b = bob.page
  const { user: bobUser } = await api(b, 'GET', '/me')
  const { conversation } = await api(a, 'POST', '/direct', { user_id: bobUser.id })
  const { message } = await api(a, 'POST', `/conversations/${conversation.id}/messages`, { body: 'first draft', client_id: uniq('c') })

  // Bob's history page is read from the server (the first draft), then
  // held until the edit has reached his socket
  let fetched
  const read = new Promise((r) => (fetched = r))
  let release
  const gate = new Promise((r) => (release = r))
  await b.route(`**/api/v1/conversations/${conversation.id}/messages?*`, async (route) => {
    const response = await route.fetch()
    fetched()
    await gate
    await route.fulfill({ response })
  })
  const socket = b.waitForEvent('websocket')
  await b.goto(`/c/${conversation.id}`)
  const ws = await socket
  await ws.waitForEvent('framereceived', { predicate: (f) => String(f.payload).includes('"hello"') })
  await read
  const updated = ws.waitForEvent('framereceived', { predicate: (f) => String(f.payload).includes('"message.updated"') })
  await api(a, 'PATCH', `/conversations/${conversation.id}/messages/${message.seq}`, { body: 'final words' })
  await updated
  release()
  await expect(bubble(b, 'final words')).toBeVisible()
  await expect(bubble(b, 'first draft')).toHaveCount(0)
  await b.unroute(`**/api/v1/conversations/${conversation.id}/messages?*`)
})

test('a message deleted before it is read stops counting as unread', async ({ browser }) => {
  const aliceName = uniq('alice')
  const alice = await signup(browser, aliceName)
  const bob = await signup(browser, uniq('bob'))
  const { user: bobUser } = await api(bob.page, 'GET', '/me')
  const { conversation } = await api(alice.page, 'POST', '/direct', { user_id: bobUser.id })
  const cid = conversation.id
  await api(alice.page, 'POST', `/conversations/${cid}/messages`, { client_id: 'one', body: 'one' })
  const b = bob.page
  await b.goto(`/c/${cid}`)
  await expect(bubble(b, 'one')).toBeVisible()
  // bob leaves the chat for his contacts; the app keeps the history it loaded
  await b.getByRole('link', { name: 'Contacts' }).click()
  await expect(b).toHaveURL(/\/contacts$/)
  await api(alice.page, 'POST', `/conversations/${cid}/messages`, { client_id: 'two', body: 'two' })
  const { message: three } = await api(alice.page, 'POST', `/conversations/${cid}/messages`, { client_id: 'three', body: 'three' })
  const row = (n) => b.getByRole('link', { name: new RegExp(`${aliceName}.*${n} unread`) })
  await expect(row(2)).toBeVisible()
  await alice.page.request.fetch(`/api/v1/conversations/${cid}/messages/${three.seq}`, { method: 'DELETE' })
  await expect(row(1)).toBeVisible()
  await alice.context.close()
  await bob.context.close()
})
