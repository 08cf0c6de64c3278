import { test, expect } from './fixtures.js'
import { uniq, signup, api } from './people.js'

// Notifications in the browser: the app is installable (a manifest with
// icons, a service worker); the service worker shows a push as a
// notification of its conversation, a newer one replacing it and an
// older one arriving late ignored; the notify
// level is set from the conversation's menu.

test('installable, pushes shown by the service worker, notify levels', async ({ browser }) => {
  const { context, page } = await signup(browser, uniq('ann'))
  // the manifest and its icons
  const res = await page.request.get('/manifest.webmanifest')
  expect(res.headers()['content-type']).toContain('application/manifest+json')
  const manifest = await res.json()
  expect(manifest.display).toBe('standalone')
  for (const icon of manifest.icons) expect((await page.request.get(icon.src)).status()).toBe(200)
  expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(['192x192', '512x512']))
  // the service worker is registered and active for the whole app
  const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope)
  expect(scope).toBe(new URL('/', page.url()).href)

  // a push delivered to the worker becomes a notification; a newer one of
  // the same conversation replaces it
  await context.grantPermissions(['notifications'])
  const cdp = await context.newCDPSession(page)
  const reg = new Promise((resolve) => cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => {
    const r = e.registrations.find((x) => x.scopeURL === scope && !x.isDeleted)
    if (r) resolve(r.registrationId)
  }))
  await cdp.send('ServiceWorker.enable')
  const registrationId = await reg
  const origin = new URL(page.url()).origin
  const deliver = (p) => cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data: JSON.stringify(p) })
  await deliver({ type: 'message', conversation_id: 7, seq: 1, title: 'bob', body: 'are you there?', count: 1 })
  await deliver({ type: 'message', conversation_id: 7, seq: 3, title: 'bob', body: 'hello?', count: 2 })
  // an older push arriving late leaves the newer notification on screen
  await deliver({ type: 'message', conversation_id: 7, seq: 2, title: 'bob', body: 'stale', count: 1 })
  await deliver({ type: 'message', conversation_id: 9, seq: 1, title: '#general', count: 1 })
  await expect.poll(() => page.evaluate(async () => {
    const r = await navigator.serviceWorker.ready
    return (await r.getNotifications()).map((n) => [n.tag, n.title, n.body]).sort()
  })).toEqual([['c7', 'bob', 'hello? (2 new messages)'], ['c9', '#general', 'New message']])

  // the notify level, from the conversation's menu
  const bob = await signup(browser, uniq('bob'))
  const { user: bobUser } = await api(bob.page, 'GET', '/me')
  const { conversation } = await api(page, 'POST', '/direct', { user_id: bobUser.id })
  await page.goto(`/c/${conversation.id}`)
  await page.getByRole('button', { name: /^Actions for/ }).first().click()
  const menu = page.getByRole('menu')
  await expect(menu.getByRole('menuitemradio', { name: 'Every message' })).toHaveAttribute('aria-checked', 'true')
  await menu.getByRole('menuitemradio', { name: 'Mentions only' }).click()
  await expect.poll(async () => (await api(page, 'GET', `/conversations/${conversation.id}`)).conversation.notify).toBe('mentions')
  await page.getByRole('button', { name: /^Actions for/ }).first().click()
  await expect(page.getByRole('menu').getByRole('menuitemradio', { name: 'Mentions only' })).toHaveAttribute('aria-checked', 'true')
})
