import { test, expect } from './fixtures.js'
import { uniq, signup } from './people.js'

// Two people in two browser contexts chat through the UI served by the real
// binary: contacts, ticks, typing, pin and archive, reload, and catching up
// after being offline.

const lastStatus = (page) => page.getByTestId('message').last().locator('[data-status]')

test('two people chat with live ticks, typing, pin, archive, reload and catch-up', async ({ browser }) => {
  test.setTimeout(120_000)
  const aliceName = uniq('alice')
  const bobName = uniq('bob')
  const alice = await signup(browser, aliceName)
  const bob = await signup(browser, bobName)
  const a = alice.page
  const b = bob.page

  // alice adds bob as a contact with an alias, and opens the chat from there
  await a.getByRole('link', { name: 'Contacts' }).click()
  await a.getByLabel('Username').fill(bobName)
  await a.getByLabel('Alias (only you see it)').fill('Bobby')
  await a.getByRole('button', { name: 'Add contact' }).click()
  const list = a.getByRole('list', { name: 'Your contacts' })
  await expect(list.getByText('Bobby')).toBeVisible()
  // adding again is a clear error
  await a.getByLabel('Username').fill(bobName)
  await a.getByRole('button', { name: 'Add contact' }).click()
  await expect(a.getByRole('alert')).toContainText('Already in your contacts')
  // edit the alias
  await a.getByRole('button', { name: `Edit alias of ${bobName}` }).click()
  await a.getByLabel(`Alias for ${bobName}`).fill('Bob B.')
  await a.getByRole('button', { name: 'Save' }).click()
  await expect(list.getByText('Bob B.')).toBeVisible()
  await a.getByRole('button', { name: 'Chat with Bob B.' }).click()
  await expect(a).toHaveURL(/\/c\/\d+$/)
  await expect(a.getByRole('heading', { name: 'Bob B.' })).toBeVisible()

  // bob adds alice back: mutual contacts see each other's presence, and
  // bob is online, so alice sees it in the header
  expect((await b.request.post('/api/v1/contacts', { data: { username: aliceName } })).status()).toBe(201)
  await a.reload()
  await expect(a.getByTestId('chat-subtitle')).toHaveText('online')

  // alice sends: sending → sent → delivered (bob's client acks at once)
  const composer = a.getByRole('textbox', { name: 'Message' })
  await composer.fill('Hello Bob!')
  await composer.press('Enter')
  await expect(composer).toHaveValue('')
  await expect(composer).toBeFocused()
  await expect(a.getByTestId('message').last()).toContainText('Hello Bob!')
  await expect(lastStatus(a)).toHaveAttribute('data-status', 'delivered')

  // bob sees the new chat with an unread badge, opens it: read
  const row = b.getByRole('link', { name: new RegExp(aliceName) })
  await expect(row).toBeVisible()
  await expect(row.getByTestId('unread')).toHaveText('1')
  await row.click()
  await expect(b.getByTestId('message').last()).toContainText('Hello Bob!')
  await expect(lastStatus(a)).toHaveAttribute('data-status', 'read')
  await expect(row.getByTestId('unread')).toHaveCount(0)

  // typing shows on the other side, under the alias
  await b.getByRole('textbox', { name: 'Message' }).pressSequentially('Hi Ali', { delay: 20 })
  await expect(a.getByTestId('typing')).toHaveText('Bob B. is typing…')
  await b.getByRole('textbox', { name: 'Message' }).press('Enter')
  await expect(a.getByTestId('message').last()).toContainText('Hi Ali')
  // Shift+Enter makes a new line, it does not send
  await composer.fill('line one')
  await composer.press('Shift+Enter')
  await composer.pressSequentially('line two')
  await expect(composer).toHaveValue('line one\nline two')
  await composer.press('Enter')
  await expect(a.getByTestId('message').last()).toContainText('line two')
  await expect(lastStatus(a)).toHaveAttribute('data-status', 'read')

  // pin and archive from the row menu
  await a.getByRole('button', { name: 'Actions for Bob B.' }).first().click()
  await a.getByRole('menuitem', { name: 'Pin' }).click()
  await expect(a.getByRole('link', { name: /Bob B\./ }).getByLabel('pinned')).toBeVisible()
  await a.getByRole('button', { name: 'Actions for Bob B.' }).first().click()
  await a.getByRole('menuitem', { name: 'Archive' }).click()
  await expect(a.getByRole('list', { name: 'Chats' }).getByRole('link', { name: /Bob B\./ })).toHaveCount(0)
  await a.getByRole('link', { name: /^Archived/ }).click()
  await expect(a.getByRole('list', { name: 'Archived chats' }).getByRole('link', { name: /Bob B\./ })).toBeVisible()
  // bob's own list did not change
  await expect(b.getByRole('link', { name: new RegExp(aliceName) }).getByLabel('pinned')).toHaveCount(0)

  // a reload of the chat keeps everything
  await a.getByRole('list', { name: 'Archived chats' }).getByRole('link', { name: /Bob B\./ }).click()
  await expect(a.getByTestId('message')).toHaveCount(3)
  await a.reload()
  await expect(a.getByTestId('message')).toHaveCount(3)
  await expect(lastStatus(a)).toHaveAttribute('data-status', 'read')

  // Ctrl+K jumps to a conversation
  await a.goto('/')
  // the shortcut is the app's once its shell is up, not while it loads
  await expect(a.getByRole('button', { name: 'New chat' })).toBeVisible()
  await a.keyboard.press('Control+k')
  await a.getByRole('combobox', { name: 'Go to conversation' }).fill('bob b')
  await a.keyboard.press('Enter')
  await expect(a.getByRole('heading', { name: 'Bob B.' })).toBeVisible()

  // bob goes offline; alice writes; bob catches up on reconnect
  await bob.context.setOffline(true)
  await b.evaluate(() => window.dispatchEvent(new Event('offline')))
  await expect(b.getByText('Reconnecting…')).toBeVisible()
  for (const text of ['while you were away 1', 'while you were away 2', 'while you were away 3']) {
    await composer.fill(text)
    await composer.press('Enter')
  }
  await expect(lastStatus(a)).toHaveAttribute('data-status', 'sent')
  await bob.context.setOffline(false)
  await b.evaluate(() => window.dispatchEvent(new Event('online')))
  await expect(b.getByText('Reconnecting…')).toHaveCount(0, { timeout: 30_000 })
  await expect(b.getByTestId('message')).toHaveCount(6)
  await expect(b.getByTestId('message').last()).toContainText('while you were away 3')
  await expect(lastStatus(a)).toHaveAttribute('data-status', 'read')

  await alice.context.close()
  await bob.context.close()
})

test('a stranger sees nothing of a chat', async ({ browser }) => {
  const eve = await signup(browser, uniq('eve'))
  await eve.page.goto('/c/1')
  await expect(eve.page.getByRole('alert')).toContainText('does not exist, or you are not in it')
  await expect(eve.page.getByText('No conversations yet')).toBeVisible()
  await eve.context.close()
})

test('scrolling up loads older history without jumping', async ({ browser }) => {
  const me = await signup(browser, uniq('reader'))
  const other = await signup(browser, uniq('writer'))
  const myId = await me.page.evaluate(async () => (await (await fetch('/api/v1/me')).json()).user.id)
  // the writer posts 120 messages through the API
  const convId = await other.page.evaluate(async (uid) => {
    const post = (path, body) => fetch('/api/v1' + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json())
    const { conversation } = await post('/direct', { user_id: uid })
    for (let i = 1; i <= 120; i++) await post(`/conversations/${conversation.id}/messages`, { client_id: 'h' + i, body: 'history ' + i })
    return conversation.id
  }, myId)
  await other.context.close()

  const p = me.page
  await p.goto(`/c/${convId}`)
  await expect(p.getByTestId('message').last()).toContainText('history 120')
  await expect(p.getByTestId('message')).toHaveCount(50)
  const messages = p.getByTestId('message')
  const scroller = p.getByRole('list', { name: 'Messages' }).locator('xpath=..')
  // the top: older history loads, and what was on screen stays on screen
  await scroller.evaluate((el) => el.scrollTo({ top: 0 }))
  await expect.poll(() => messages.count()).toBeGreaterThan(50)
  await expect(messages.filter({ hasText: /^history 71\b/ })).toBeInViewport()
  // again until the beginning
  await expect(async () => {
    await scroller.evaluate((el) => el.scrollTo({ top: 0 }))
    expect(await messages.count()).toBe(120)
  }).toPass()
  await expect(p.getByText('Beginning of the conversation')).toBeVisible()
  await expect(p.getByTestId('message').first()).toContainText('history 1')
  // the first unread message is marked
  await expect(p.getByLabel('New messages')).toHaveCount(1)
  await me.context.close()
})
