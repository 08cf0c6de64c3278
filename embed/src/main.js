import { createApp } from 'vue'
import './style.css'
import App from './App.vue'
import { router } from './router.js'
import { setUnauthenticatedHandler } from './api.js'
import { forget } from './store.js'

// A session that ended sends the user to login, and back here afterwards.
setUnauthenticatedHandler(() => {
  forget()
  const here = router.currentRoute.value
  if (!here.meta.guest) router.push({ path: '/login', query: { next: here.fullPath } })
})

createApp(App).use(router).mount('#app')
