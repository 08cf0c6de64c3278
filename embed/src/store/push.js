// Web Push: the service worker (public/sw.js) is registered on every
// start, which also makes the app installable; once the user turned
// notifications on (from a button, never on load), the browser's push
// subscription is sent to the server, again on every start (browsers, iOS
// above all, drop subscriptions), and withdrawn at logout.
import * as ep from '../endpoints.js'

let registration = null

export const pushSupported = () => 'serviceWorker' in navigator && 'PushManager' in window && window.isSecureContext

export async function registerWorker() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return null
  try {
    registration = await navigator.serviceWorker.register('/sw.js')
  } catch {
    registration = null
  }
  return registration
}

function keyBytes(b64) {
  const s = atob(b64.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64.length % 4)) % 4))
  return Uint8Array.from(s, (c) => c.charCodeAt(0))
}

// subscribePush sends this browser's subscription to the server (making
// one if needed); it does nothing without permission or server support.
export async function subscribePush() {
  if (!pushSupported() || Notification.permission !== 'granted') return false
  const reg = registration || (await registerWorker())
  if (!reg) return false
  let key
  try {
    key = (await ep.getPushKey()).public_key
  } catch {
    return false // push is off on this server
  }
  const want = keyBytes(key)
  let sub = await reg.pushManager.getSubscription()
  const have = sub?.options?.applicationServerKey
  if (sub && have && !sameBytes(new Uint8Array(have), want)) {
    await sub.unsubscribe() // made for another server key
    sub = null
  }
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: want })
  await ep.postPushSubscription(sub.toJSON())
  return true
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

// unsubscribePush withdraws this browser's subscription (at logout).
export async function unsubscribePush() {
  const reg = registration || (await navigator.serviceWorker?.getRegistration?.())
  const sub = await reg?.pushManager?.getSubscription()
  if (!sub) return
  await ep.deletePushSubscription(sub.endpoint).catch(() => {})
  await sub.unsubscribe().catch(() => {})
}
