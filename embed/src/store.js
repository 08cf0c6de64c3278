// The app's one store: components render it and call its actions, and never
// fetch behind its back. The WebSocket (realtime.js) and /sync feed it.
import { reactive, computed, watch } from 'vue'
import { api } from './api.js'
import { cacheLoad, cacheSave, cacheClear } from './cache.js'
import * as rt from './realtime.js'

export const state = reactive({
  user: null,
  loaded: false,
  conversations: {}, // id → Conversation
  groups: {}, // id → Group (its channels live in conversations)
  receipts: {}, // channel id → { user id: { delivered_seq, read_seq } }
  messages: {}, // conversation id → { list: [Message by seq], pending: [optimistic], hasMore, loaded }
  contacts: [],
  presence: {}, // user id → { online, last_seen }
  typing: {}, // conversation id → { user id: expires at (ms) }
  connection: 'offline', // online | reconnecting | offline
  cursor: null,
  openId: null, // the conversation on screen
  now: Date.now(),
})

const MAX_CACHED_MESSAGES = 50

// ---------- derived ----------

export const sortedConversations = computed(() =>
  Object.values(state.conversations).sort((a, b) => {
    if (a.pinned !== b.pinned) return a.pinned ? -1 : 1
    const t = activity(b) - activity(a)
    return t !== 0 ? t : b.id - a.id
  }),
)

function activity(c) {
  return Date.parse(c.last_message?.created_at || c.updated_at) || 0
}

export const unreadTotal = computed(() =>
  Object.values(state.conversations).reduce((n, c) => n + (c.muted ? 0 : c.unread_count || 0), 0),
)

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

// ---------- session ----------

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
  if (state.user) await start()
}

export async function signup(username, password, displayName) {
  const body = { username, password }
  if (displayName) body.display_name = displayName
  const { user } = await api('POST', '/auth/signup', body, { quiet401: true })
  state.user = user
  await start()
}

export async function login(username, password) {
  const { user } = await api('POST', '/auth/login', { username, password }, { quiet401: true })
  state.user = user
  await start()
}

export async function logout() {
  try {
    await api('POST', '/auth/logout', undefined, { quiet401: true })
  } finally {
    await forget()
  }
}

// forget drops everything known about the signed-in user, cache included.
export async function forget() {
  rt.disconnect()
  state.user = null
  state.conversations = {}
  state.groups = {}
  state.receipts = {}
  state.messages = {}
  state.contacts = []
  state.presence = {}
  state.typing = {}
  state.cursor = null
  state.openId = null
  state.connection = 'offline'
  await cacheClear()
}

export async function updateDisplayName(displayName) {
  const { user } = await api('PATCH', '/me', { display_name: displayName })
  state.user = user
}

export async function changePassword(current, next) {
  await api('POST', '/me/password', { current_password: current, new_password: next })
}

let started = false

// start renders the cache at once, then connects; every hello syncs.
async function start() {
  if (started) return
  started = true
  const snap = await cacheLoad(state.user.id)
  if (snap && snap.userId === state.user.id) {
    state.conversations = snap.conversations || {}
    state.groups = snap.groups || {}
    state.cursor = snap.cursor || null
    state.contacts = snap.contacts || []
    for (const [id, list] of Object.entries(snap.messages || {})) {
      state.messages[id] = { list, pending: [], hasMore: true, loaded: false }
    }
  }
  loadContacts().catch(() => {})
  state.connection = 'reconnecting'
  rt.connect({
    onFrame,
    onStatus: (s) => (state.connection = s),
    onSessionEnded: sessionEnded,
  })
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

// ---------- cache ----------

let saveTimer = null
function scheduleSave() {
  if (!state.user || saveTimer) return
  saveTimer = setTimeout(() => {
    saveTimer = null
    if (!state.user) return
    const messages = {}
    for (const [id, m] of Object.entries(state.messages)) {
      messages[id] = JSON.parse(JSON.stringify(m.list.slice(-MAX_CACHED_MESSAGES)))
    }
    cacheSave(state.user.id, {
      userId: state.user.id,
      cursor: state.cursor,
      conversations: JSON.parse(JSON.stringify(state.conversations)),
      groups: JSON.parse(JSON.stringify(state.groups)),
      contacts: JSON.parse(JSON.stringify(state.contacts)),
      messages,
    })
  }, 300)
}
watch(() => [state.conversations, state.groups, state.messages, state.contacts, state.cursor], scheduleSave, { deep: true })

// ---------- sync ----------

let syncing = null

// sync brings everything up to date after (re)connecting: changed
// conversations, then the messages each open list is missing.
export function sync() {
  if (!syncing) {
    syncing = doSync().finally(() => (syncing = null))
  }
  return syncing
}

async function doSync() {
  const q = state.cursor ? '?since=' + encodeURIComponent(state.cursor) : ''
  let out
  try {
    out = await api('GET', '/sync' + q)
  } catch (e) {
    if (e.status === 400 && state.cursor) {
      state.cursor = null // a cursor the server cannot read: start over
      return doSync()
    }
    throw e
  }
  if (!state.cursor) {
    // a full state: what it does not list is gone
    const keep = new Set(out.conversations.map((c) => c.id))
    for (const id of Object.keys(state.conversations)) if (!keep.has(+id)) delete state.conversations[id]
    const keepGroups = new Set(out.groups.map((g) => g.id))
    for (const id of Object.keys(state.groups)) if (!keepGroups.has(+id)) delete state.groups[id]
  }
  for (const c of out.conversations) putConversation(c)
  for (const id of out.removed) dropConversation(id)
  for (const g of out.groups) putGroup(g)
  for (const id of out.removed_groups || []) dropGroup(id)
  state.cursor = out.cursor
  // fill gaps in the message lists we hold
  await Promise.all(
    Object.entries(state.messages).map(([id, m]) => {
      const c = state.conversations[id]
      if (!c) return null
      const have = lastSeq(m)
      if (have < c.last_seq && (m.loaded || m.list.length > 0)) return fetchAfter(+id, have)
      return null
    }),
  )
  if (state.openId) markRead(state.openId)
  refreshPresence()
}

function putConversation(c) {
  const old = state.conversations[c.id]
  state.conversations[c.id] = old ? Object.assign(old, c) : c
  // history the user cleared is gone from this device too
  const m = state.messages[c.id]
  if (m && c.cleared_seq) m.list = m.list.filter((x) => x.seq > c.cleared_seq)
}

function dropConversation(id) {
  delete state.conversations[id]
  delete state.messages[id]
  delete state.receipts[id]
}

function putGroup(g) {
  for (const c of g.channels) putConversation(c)
  const old = state.groups[g.id]
  // channels the group no longer has are gone
  if (old) {
    const keep = new Set(g.channels.map((c) => c.id))
    for (const c of old.channels || []) if (!keep.has(c.id)) dropConversation(c.id)
  }
  state.groups[g.id] = { ...g, channels: g.channels.map((c) => c.id) }
}

function dropGroup(id) {
  const g = state.groups[id]
  if (g) for (const cid of g.channels) dropConversation(cid)
  delete state.groups[id]
}

function lastSeq(m) {
  return m.list.length ? m.list[m.list.length - 1].seq : 0
}

// ---------- frames ----------

function onFrame(f) {
  const d = f.data || {}
  switch (f.type) {
    case 'hello':
      sync().catch(() => {})
      break
    case 'message.created':
      onMessage(d.message)
      break
    case 'receipt':
      onReceipt(d)
      break
    case 'typing':
      if (d.user_id !== state.user?.id) {
        state.typing[d.conversation_id] = { ...(state.typing[d.conversation_id] || {}), [d.user_id]: Date.now() + 5000 }
      }
      break
    case 'presence':
      state.presence[d.user_id] = { online: d.online, last_seen: d.last_seen }
      break
    case 'conversation.updated':
      putConversation(d.conversation)
      break
    case 'conversation.removed':
      dropConversation(d.conversation_id)
      break
    case 'group.updated':
      putGroup(d.group)
      break
    case 'group.removed':
      dropGroup(d.group_id)
      break
  }
}

function messageBucket(id) {
  if (!state.messages[id]) state.messages[id] = { list: [], pending: [], hasMore: true, loaded: false }
  return state.messages[id]
}

// insert places messages by seq, never twice.
function insert(convId, msgs) {
  const m = messageBucket(convId)
  const bySeq = new Map(m.list.map((x) => [x.seq, x]))
  for (const x of msgs) bySeq.set(x.seq, x)
  m.list = [...bySeq.values()].sort((a, b) => a.seq - b.seq)
  const mine = new Set(msgs.filter((x) => x.sender_id === state.user?.id).map((x) => x.client_id))
  if (mine.size) m.pending = m.pending.filter((p) => !mine.has(p.client_id))
}

function onMessage(msg) {
  const c = state.conversations[msg.conversation_id]
  if (!c) {
    // a conversation this device has not seen yet
    api('GET', `/conversations/${msg.conversation_id}`)
      .then(({ conversation }) => putConversation(conversation))
      .catch(() => {})
    return
  }
  const m = state.messages[msg.conversation_id]
  if (m && (m.loaded || m.list.length)) {
    const have = lastSeq(m)
    insert(msg.conversation_id, [msg])
    if (have && msg.seq > have + 1) fetchAfter(msg.conversation_id, have) // a gap
  }
  const fromOther = msg.sender_id !== state.user.id
  const isNew = msg.seq > c.last_seq // else the conversation already counts it
  if (isNew || !c.last_message || msg.seq >= c.last_message.seq) {
    c.last_seq = Math.max(c.last_seq, msg.seq)
    c.last_message = msg
    c.updated_at = msg.created_at
  }
  if (fromOther) {
    if (isNew && msg.seq > c.read_seq) c.unread_count = (c.unread_count || 0) + 1
    acknowledge(msg.conversation_id, { delivered_seq: msg.seq })
    if (state.typing[msg.conversation_id]) delete state.typing[msg.conversation_id][msg.sender_id]
    if (state.openId === msg.conversation_id) markRead(msg.conversation_id)
    notify(c, msg)
  } else {
    c.delivered_seq = Math.max(c.delivered_seq, msg.seq)
    c.read_seq = Math.max(c.read_seq, msg.seq)
  }
}

function onReceipt(r) {
  const c = state.conversations[r.conversation_id]
  if (!c) return
  if (r.user_id === state.user.id) {
    c.delivered_seq = Math.max(c.delivered_seq, r.delivered_seq)
    if (r.read_seq > c.read_seq) {
      c.read_seq = r.read_seq
      c.unread_count = countUnread(c)
    }
  } else if (c.kind === 'direct') {
    c.peer_delivered_seq = Math.max(c.peer_delivered_seq || 0, r.delivered_seq)
    c.peer_read_seq = Math.max(c.peer_read_seq || 0, r.read_seq)
  }
  if (c.kind === 'channel') {
    const m = (state.receipts[c.id] ||= {})
    const old = m[r.user_id] || { delivered_seq: 0, read_seq: 0 }
    m[r.user_id] = { delivered_seq: Math.max(old.delivered_seq, r.delivered_seq), read_seq: Math.max(old.read_seq, r.read_seq) }
  }
}

// readers lists the other members of a channel who have read seq.
export function readers(convId, seq) {
  const m = state.receipts[convId] || {}
  return Object.entries(m)
    .filter(([uid, r]) => +uid !== state.user.id && r.read_seq >= seq)
    .map(([uid]) => +uid)
}

// countUnread recounts from the messages held, when they cover the range.
function countUnread(c) {
  if (c.read_seq >= c.last_seq) return 0
  const m = state.messages[c.id]
  const from = Math.max(c.read_seq, c.cleared_seq || 0)
  if (m && m.list.length && m.list[0].seq <= from + 1) {
    return m.list.filter((x) => x.seq > from && x.sender_id !== state.user.id).length
  }
  return Math.min(c.unread_count || 0, c.last_seq - c.read_seq)
}

// ---------- receipts ----------

const pendingAcks = {}
let ackTimer = null

// acknowledge coalesces receipts for a moment, then sends one frame per
// conversation (or a POST while the socket is down).
function acknowledge(convId, r) {
  const p = (pendingAcks[convId] ||= { delivered_seq: 0, read_seq: 0 })
  p.delivered_seq = Math.max(p.delivered_seq, r.delivered_seq || 0, r.read_seq || 0)
  p.read_seq = Math.max(p.read_seq, r.read_seq || 0)
  if (!ackTimer) ackTimer = setTimeout(flushAcks, 100)
}

function flushAcks() {
  ackTimer = null
  for (const [id, r] of Object.entries(pendingAcks)) {
    delete pendingAcks[id]
    const data = { conversation_id: +id, delivered_seq: r.delivered_seq }
    if (r.read_seq) data.read_seq = r.read_seq
    if (!rt.sendFrame('receipt', data)) {
      api('POST', `/conversations/${id}/receipts`, data).catch(() => {})
    }
  }
}

function canSeeChat() {
  return document.visibilityState === 'visible' && document.hasFocus()
}

// markRead sends the read receipt for an open chat, only while it is
// visible and focused.
export function markRead(convId) {
  const c = state.conversations[convId]
  if (!c || !canSeeChat()) return
  if (c.read_seq < c.last_seq) {
    acknowledge(convId, { read_seq: c.last_seq })
    c.read_seq = c.last_seq
    c.delivered_seq = Math.max(c.delivered_seq, c.last_seq)
    c.unread_count = 0
  }
}

const readIfOpen = () => state.openId && markRead(state.openId)
document.addEventListener('visibilitychange', readIfOpen)
window.addEventListener('focus', readIfOpen)

// ---------- typing ----------

const lastTypingSent = {}
export function typing(convId) {
  const now = Date.now()
  if (now - (lastTypingSent[convId] || 0) < 3000) return
  lastTypingSent[convId] = now
  rt.sendFrame('typing', { conversation_id: convId })
}

export function typingNames(convId) {
  const t = state.typing[convId]
  if (!t) return []
  const c = state.conversations[convId]
  return Object.entries(t)
    .filter(([, until]) => until > state.now)
    .map(([uid]) => {
      if (c?.peer && c.peer.id === +uid) return c.title
      return displayName(userCache[uid] || { id: +uid, display_name: 'Someone' })
    })
}

// userCache holds users seen in member lists (channels), by id.
export const userCache = reactive({})

setInterval(() => (state.now = Date.now()), 1000)

// ---------- messages ----------

// openConversation loads a conversation's recent history and marks it
// read. It returns the read watermark from before, for the "New messages" line.
export async function openConversation(convId) {
  state.openId = convId
  let c = state.conversations[convId]
  if (!c) {
    const { conversation } = await api('GET', `/conversations/${convId}`)
    putConversation(conversation)
    c = state.conversations[convId]
  }
  const readBefore = Math.max(c.read_seq, c.cleared_seq || 0)
  const m = messageBucket(convId)
  if (!m.loaded) {
    const out = await api('GET', `/conversations/${convId}/messages?limit=50`)
    insert(convId, out.messages)
    m.hasMore = out.has_more
    m.loaded = true
  } else if (lastSeq(m) < c.last_seq) {
    await fetchAfter(convId, lastSeq(m))
  }
  if (c.kind === 'channel') {
    // "read by k of n": the watermarks, and the names behind them
    const [{ receipts }] = await Promise.all([
      api('GET', `/conversations/${convId}/receipts`),
      c.group_id ? loadMembers(c.group_id).catch(() => null) : null,
    ])
    const map = {}
    for (const r of receipts) map[r.user_id] = { delivered_seq: r.delivered_seq, read_seq: r.read_seq }
    state.receipts[convId] = map
  }
  markRead(convId)
  return readBefore
}

export function closeConversation(convId) {
  if (state.openId === convId) state.openId = null
}

async function fetchAfter(convId, after) {
  for (;;) {
    const out = await api('GET', `/conversations/${convId}/messages?after=${after}&limit=200`)
    insert(convId, out.messages)
    if (!out.has_more || !out.messages.length) return
    after = out.messages[out.messages.length - 1].seq
  }
}

export async function loadOlder(convId) {
  const m = messageBucket(convId)
  if (!m.hasMore) return 0
  const before = m.list.length ? m.list[0].seq : undefined
  const q = before ? `before=${before}&` : ''
  const out = await api('GET', `/conversations/${convId}/messages?${q}limit=50`)
  insert(convId, out.messages)
  m.hasMore = out.has_more
  return out.messages.length
}

function newClientId() {
  return crypto.randomUUID ? crypto.randomUUID() : Date.now().toString(36) + Math.random().toString(36).slice(2)
}

// send shows the message at once ("sending"), then posts it. A retry posts
// the same client_id, so it never duplicates.
export async function send(convId, body) {
  askNotificationPermission()
  const p = reactive({
    client_id: newClientId(),
    conversation_id: convId,
    sender_id: state.user.id,
    body,
    created_at: new Date().toISOString(),
    status: 'sending',
    error: '',
  })
  messageBucket(convId).pending.push(p)
  await post(p)
}

export async function retry(p) {
  p.status = 'sending'
  p.error = ''
  await post(p)
}

async function post(p) {
  try {
    const { message } = await api('POST', `/conversations/${p.conversation_id}/messages`, {
      client_id: p.client_id,
      body: p.body,
    })
    onMessage(message)
    const m = state.messages[p.conversation_id]
    if (m && !m.list.some((x) => x.seq === message.seq)) insert(p.conversation_id, [message])
  } catch (e) {
    p.status = 'failed'
    p.error = e.message
  }
}

// ---------- conversations ----------

export async function startDirect(userId) {
  const { conversation } = await api('POST', '/direct', { user_id: userId })
  putConversation(conversation)
  return conversation.id
}

export async function setFlags(convId, flags) {
  const { conversation } = await api('PATCH', `/conversations/${convId}`, flags)
  putConversation(conversation)
}

export async function clearConversation(convId) {
  await api('POST', `/conversations/${convId}/clear`)
  const c = state.conversations[convId]
  if (c) {
    c.cleared_seq = c.last_seq
    c.last_message = null
    c.unread_count = 0
  }
  const m = state.messages[convId]
  if (m) {
    m.list = []
    m.hasMore = false
  }
}

export async function deleteConversation(convId) {
  await api('DELETE', `/conversations/${convId}`)
  dropConversation(convId)
}

// ---------- contacts and presence ----------

export async function loadContacts() {
  const { contacts } = await api('GET', '/contacts')
  state.contacts = contacts
}

export async function addContact(username, alias) {
  const body = { username }
  if (alias) body.alias = alias
  const { contact } = await api('POST', '/contacts', body)
  state.contacts = [...state.contacts.filter((c) => c.user.id !== contact.user.id), contact]
  refreshTitles(contact.user.id)
  refreshPresence()
  return contact
}

export async function setAlias(userId, alias) {
  const { contact } = await api('PATCH', `/contacts/${userId}`, { alias: alias || null })
  state.contacts = state.contacts.map((c) => (c.user.id === userId ? contact : c))
  refreshTitles(userId)
}

export async function removeContact(userId) {
  await api('DELETE', `/contacts/${userId}`)
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
  const { users } = await api('GET', '/users?q=' + encodeURIComponent(q))
  return users
}

let presenceTimer = null
function refreshPresence() {
  clearTimeout(presenceTimer)
  presenceTimer = setTimeout(async () => {
    const ids = new Set(state.contacts.map((c) => c.user.id))
    for (const c of Object.values(state.conversations)) if (c.peer) ids.add(c.peer.id)
    const list = [...ids].slice(0, 200)
    if (!list.length) return
    try {
      const { presence } = await api('GET', '/presence?user_ids=' + list.join(','))
      for (const p of presence) state.presence[p.user_id] = { online: p.online, last_seen: p.last_seen }
    } catch {
      /* presence is best effort */
    }
  }, 50)
}

// ---------- notifications ----------

let asked = false
function askNotificationPermission() {
  if (asked || !('Notification' in window) || Notification.permission !== 'default') return
  asked = true
  Notification.requestPermission().catch(() => {})
}

function notify(c, msg) {
  if (c.muted || document.visibilityState === 'visible') return
  if (!('Notification' in window) || Notification.permission !== 'granted') return
  try {
    const n = new Notification(c.title, { body: msg.body.slice(0, 140), tag: 'parley-' + c.id })
    n.onclick = () => {
      window.focus()
      window.dispatchEvent(new CustomEvent('parley:open', { detail: c.id }))
    }
  } catch {
    /* some browsers only notify from a service worker */
  }
}

// ---------- groups ----------

export const sortedGroups = computed(() =>
  Object.values(state.groups).sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id),
)

export async function createGroup(name, description) {
  const { group } = await api('POST', '/groups', { name, description })
  putGroup(group)
  return group
}

export async function refreshGroup(gid) {
  const { group } = await api('GET', `/groups/${gid}`)
  putGroup(group)
  return group
}

export async function updateGroup(gid, fields) {
  const { group } = await api('PATCH', `/groups/${gid}`, fields)
  putGroup(group)
}

export async function deleteGroup(gid) {
  await api('DELETE', `/groups/${gid}`)
  dropGroup(gid)
}

export async function loadMembers(gid) {
  const { members } = await api('GET', `/groups/${gid}/members`)
  for (const m of members) userCache[m.user.id] = m.user
  return members
}

export async function addMember(gid, username) {
  const users = await searchUsers(username)
  const u = users.find((x) => x.username === username.toLowerCase())
  if (!u) throw Object.assign(new Error('No user with that username.'), { field: 'username' })
  await api('POST', `/groups/${gid}/members`, { user_id: u.id })
}

export async function setRole(gid, userId, role) {
  await api('PATCH', `/groups/${gid}/members/${userId}`, { role })
}

export async function removeMember(gid, userId) {
  await api('DELETE', `/groups/${gid}/members/${userId}`)
  if (userId === state.user.id) dropGroup(gid)
}

export async function transferOwnership(gid, userId) {
  const { group } = await api('POST', `/groups/${gid}/transfer`, { user_id: userId })
  putGroup(group)
}

export async function createChannel(gid, name) {
  const { conversation } = await api('POST', `/groups/${gid}/channels`, { name })
  putConversation(conversation)
  const g = state.groups[gid]
  if (g && !g.channels.includes(conversation.id)) g.channels.push(conversation.id)
  return conversation
}

export async function renameChannel(gid, cid, name) {
  const { conversation } = await api('PATCH', `/groups/${gid}/channels/${cid}`, { name })
  putConversation(conversation)
}

export async function deleteChannel(gid, cid) {
  await api('DELETE', `/groups/${gid}/channels/${cid}`)
  dropConversation(cid)
  const g = state.groups[gid]
  if (g) g.channels = g.channels.filter((x) => x !== cid)
}

export async function createInvite(gid, opts) {
  return api('POST', `/groups/${gid}/invites`, opts)
}

export async function listInvites(gid) {
  const { invites } = await api('GET', `/groups/${gid}/invites`)
  return invites
}

export async function revokeInvite(gid, code) {
  await api('DELETE', `/groups/${gid}/invites/${encodeURIComponent(code)}`)
}

export async function previewInvite(code) {
  const { group } = await api('GET', `/invites/${encodeURIComponent(code)}`)
  return group
}

export async function acceptInvite(code) {
  const { group } = await api('POST', `/invites/${encodeURIComponent(code)}/accept`)
  putGroup(group)
  return group
}
