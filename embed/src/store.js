// The app's one store: components render it and call its actions, and never
// fetch behind its back.
import { reactive } from 'vue'
import { api } from './api.js'

export const state = reactive({
  user: null,
  loaded: false,
})

export async function loadSession() {
  try {
    const { user } = await api('GET', '/me', undefined, { quiet401: true })
    state.user = user
  } catch (e) {
    if (e.status !== 401) throw e
    state.user = null
  } finally {
    state.loaded = true
  }
}

export async function signup(username, password, displayName) {
  const body = { username, password }
  if (displayName) body.display_name = displayName
  const { user } = await api('POST', '/auth/signup', body, { quiet401: true })
  state.user = user
}

export async function login(username, password) {
  const { user } = await api('POST', '/auth/login', { username, password }, { quiet401: true })
  state.user = user
}

export async function logout() {
  try {
    await api('POST', '/auth/logout', undefined, { quiet401: true })
  } finally {
    forget()
  }
}

// forget drops everything known about the signed-in user.
export function forget() {
  state.user = null
}

export async function updateDisplayName(displayName) {
  const { user } = await api('PATCH', '/me', { display_name: displayName })
  state.user = user
}

export async function changePassword(current, next) {
  await api('POST', '/me/password', { current_password: current, new_password: next })
}
