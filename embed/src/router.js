import { createRouter, createWebHistory } from 'vue-router'
import { state, loadSession } from './store/index.js'
import Login from './views/Login.vue'
import Signup from './views/Signup.vue'
import Home from './views/Home.vue'
import Profile from './views/Profile.vue'
import Chat from './views/Chat.vue'
import Contacts from './views/Contacts.vue'
import Group from './views/Group.vue'
import Invite from './views/Invite.vue'
import Admin from './views/Admin.vue'
import ApiDocs from './views/ApiDocs.vue'

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', component: Login, meta: { guest: true, title: 'Log in' } },
    { path: '/signup', component: Signup, meta: { guest: true, title: 'Sign up' } },
    { path: '/', component: Home, meta: { title: 'Chats' } },
    { path: '/c/:id(\\d+)', component: Chat, meta: { title: 'Chat' } },
    { path: '/g/:gid(\\d+)/c/:id(\\d+)', component: Chat, meta: { title: 'Channel' } },
    { path: '/g/:gid(\\d+)', component: Group, meta: { title: 'Group' } },
    { path: '/invite/:code', component: Invite, meta: { title: 'Invite' } },
    { path: '/contacts', component: Contacts, meta: { title: 'Contacts' } },
    { path: '/profile', component: Profile, meta: { title: 'Profile' } },
    { path: '/api-docs', component: ApiDocs, meta: { title: 'API reference', public: true } },
    { path: '/admin', component: Admin, meta: { title: 'Administration', admin: true } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

// safeNext keeps a post-login redirect on this site.
export function safeNext(next) {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') ? next : '/'
}

router.beforeEach(async (to) => {
  if (!state.loaded) await loadSession().catch(() => {})
  if (!to.meta.guest && !to.meta.public && !state.user) {
    return { path: '/login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  }
  if (to.meta.guest && state.user) return safeNext(to.query.next)
  if (to.meta.admin && state.user?.role !== 'admin') return '/'
})
