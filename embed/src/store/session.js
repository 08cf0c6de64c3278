// Who is signed in: sign-up, login, logout, the profile, and starting the
// realtime side once someone is.
import { state, reset } from './state.js'
import { loadContacts } from './contacts.js'
import { restore, connect, disconnect } from './sync.js'
import { cacheClear } from '../cache.js'
import * as ep from '../endpoints.js'
import { registerWorker, subscribePush, unsubscribePush } from './push.js'

export async function loadSession() {
  ep.getConfig().then((c) => (state.config = c)).catch(() => {})
  try {
    const { user } = await ep.getMe()
    state.user = user
  } catch (e) {
    if (e.status !== 401) throw e
    state.user = null
  } finally {
    state.loaded = true
  }
  if (state.user) await start()
}

export async function signup(username, password, displayName) {
  const body = { username, password }
  if (displayName) body.display_name = displayName
  const { user } = await ep.postSignup(body)
  state.user = user
  await start()
}

export async function login(username, password) {
  const { user } = await ep.postLogin(username, password)
  state.user = user
  await start()
}

export async function logout() {
  await unsubscribePush().catch(() => {})
  try {
    await ep.postLogout()
  } finally {
    await forget()
  }
}

// forget drops everything known about the signed-in user, cache included.
export async function forget() {
  disconnect()
  reset()
  await cacheClear()
}

export async function updateDisplayName(displayName) {
  await updateMe({ display_name: displayName })
}

export async function updateMe(fields) {
  const { user } = await ep.patchMe(fields)
  state.user = user
}

export async function changePassword(current, next) {
  await ep.postPassword(current, next)
}

let started = false

// start renders the cache at once, then connects; every hello syncs.
async function start() {
  if (started) return
  started = true
  await restore(state.user.id)
  loadContacts().catch(() => {})
  connect(sessionEnded)
  registerWorker().then(() => subscribePush()).catch(() => {})
  started = false
}

let onSessionEndedHook = () => {}
export function setSessionEndedHook(fn) {
  onSessionEndedHook = fn
}
async function sessionEnded() {
  await forget()
  onSessionEndedHook()
}
