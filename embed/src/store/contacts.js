// Contacts, aliases, user search and presence.
import { state } from './state.js'
import * as ep from '../endpoints.js'

export function contactFor(userId) {
  return state.contacts.find((c) => c.user.id === userId) || null
}

// displayName is the alias the caller gave a user, else their display name.
export function displayName(user) {
  if (!user) return ''
  if (state.user && user.id === state.user.id) return 'You'
  const c = contactFor(user.id)
  return (c && c.alias) || user.display_name
}

export async function loadContacts() {
  const { contacts } = await ep.getContacts()
  state.contacts = contacts
}

export async function addContact(username, alias) {
  const body = { username }
  if (alias) body.alias = alias
  const { contact } = await ep.postContact(body)
  state.contacts = [...state.contacts.filter((c) => c.user.id !== contact.user.id), contact]
  refreshTitles(contact.user.id)
  refreshPresence()
  return contact
}

export async function setAlias(userId, alias) {
  const { contact } = await ep.patchContact(userId, alias)
  state.contacts = state.contacts.map((c) => (c.user.id === userId ? contact : c))
  refreshTitles(userId)
}

export async function removeContact(userId) {
  await ep.deleteContact(userId)
  state.contacts = state.contacts.filter((c) => c.user.id !== userId)
  refreshTitles(userId)
}

function refreshTitles(userId) {
  for (const c of Object.values(state.conversations)) {
    if (c.peer && c.peer.id === userId) {
      const contact = contactFor(userId)
      c.title = (contact && contact.alias) || c.peer.display_name
    }
  }
}

export async function searchUsers(q) {
  const { users } = await ep.getUsers(q)
  return users
}

let presenceTimer = null
// refreshPresence asks for the presence of contacts and direct-chat peers.
export function refreshPresence() {
  clearTimeout(presenceTimer)
  presenceTimer = setTimeout(async () => {
    const ids = new Set(state.contacts.map((c) => c.user.id))
    for (const c of Object.values(state.conversations)) if (c.peer) ids.add(c.peer.id)
    const list = [...ids].slice(0, 200)
    if (!list.length) return
    try {
      const { presence } = await ep.getPresence(list)
      for (const p of presence) state.presence[p.user_id] = { online: p.online, last_seen: p.last_seen }
    } catch {
      /* presence is best effort */
    }
  }, 50)
}

export function onPresence(d) {
  state.presence[d.user_id] = { online: d.online, last_seen: d.last_seen }
}
