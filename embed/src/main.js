import { createApp, watchEffect } from 'vue'
import './style.css'
import App from './App.vue'
import { router } from './router.js'
import { setUnauthenticatedHandler } from './api.js'
import { forget, setSessionEndedHook, state, unreadTotal } from './store/index.js'

// A session that ended sends the user to login, and back here afterwards.
function toLogin() {
  const here = router.currentRoute.value
  if (!here.meta.guest) router.push({ path: '/login', query: { next: here.fullPath } })
}
setUnauthenticatedHandler(async () => {
  await forget()
  toLogin()
})
setSessionEndedHook(toLogin)

// The tab title: the page, and the unread total.
watchEffect(() => {
  const route = router.currentRoute.value
  let title = route.meta.title || 'Parley'
  if (route.params.id && state.conversations[route.params.id]) title = state.conversations[route.params.id].title
  const n = unreadTotal.value
  document.title = (n ? `(${n}) ` : '') + (title === 'Parley' ? 'Parley' : `${title} · Parley`)
})

// A click on a desktop notification opens its conversation; so does one on
// a push notification, through the service worker.
window.addEventListener('parley:open', (e) => router.push(`/c/${e.detail}`))
navigator.serviceWorker?.addEventListener('message', (e) => {
  if (e.data?.type !== 'open') return
  const u = new URL(e.data.url, location.origin)
  if (u.origin === location.origin) router.push(u.pathname + u.search)
})

createApp(App).use(router).mount('#app')
