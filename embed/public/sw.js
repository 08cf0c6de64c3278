// Parley's service worker: it shows Web Push notifications (the server
// pushes only while no tab of the user is connected) and opens the
// conversation when one is clicked. It caches nothing: the app itself
// keeps chats in IndexedDB.
self.addEventListener('install', () => self.skipWaiting())
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()))

// Pushes are shown one at a time, in the order they arrived, and a push
// older than the conversation's notification on screen (pushes can arrive
// out of order) leaves that notification as it is.
let shown = Promise.resolve()

self.addEventListener('push', (e) => {
  let p = {}
  try {
    p = e.data ? e.data.json() : {}
  } catch {
    p = {}
  }
  if (p.type !== 'message') return
  const more = p.count > 1 ? ` (${p.count} new messages)` : ''
  const body = p.body ? p.body + more : p.count > 1 ? `${p.count} new messages` : 'New message'
  const tag = `c${p.conversation_id}`
  const seq = Number(p.seq) || 0
  const show = async () => {
    const current = await self.registration.getNotifications({ tag })
    if (current.some((n) => (n.data?.seq || 0) > seq)) return
    await self.registration.showNotification(p.title || 'Parley', {
      body,
      // a newer message replaces the conversation's older notification
      tag,
      renotify: true,
      icon: '/icon-192.png',
      badge: '/icon-192.png',
      data: { url: `/c/${p.conversation_id}?seq=${seq}`, seq },
    })
  }
  shown = shown.then(show, show)
  e.waitUntil(shown)
})

self.addEventListener('notificationclick', (e) => {
  e.notification.close()
  const url = new URL(e.notification.data?.url || '/', self.location.origin).href
  e.waitUntil(
    (async () => {
      const wins = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
      for (const w of wins) {
        if (new URL(w.url).origin === self.location.origin) {
          await w.focus()
          w.postMessage({ type: 'open', url })
          return
        }
      }
      await self.clients.openWindow(url)
    })(),
  )
})

// the browser replaced the subscription: tell the server the new one
self.addEventListener('pushsubscriptionchange', (e) => {
  e.waitUntil(
    (async () => {
      const key = await fetch('/api/v1/push/key', { credentials: 'same-origin' }).then((r) => r.json())
      const sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key.public_key })
      await fetch('/api/v1/push/subscriptions', {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(sub.toJSON()),
      })
    })(),
  )
})
