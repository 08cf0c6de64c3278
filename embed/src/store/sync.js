// The realtime side: the WebSocket's frames, /sync after every hello, and
// the IndexedDB cache that renders the last state at once on reload.
import { watch } from 'vue'
import { state } from './state.js'
import { putConversation, dropConversation } from './conversations.js'
import { putGroup, dropGroup, onGroupChanged, onChannelAdded } from './groups.js'
import { onMessage, onMessageUpdated, onReceipt, onTyping, markRead, fetchAfter, lastSeq, acknowledgeDelivery, reloadHistory } from './messages.js'
import { onPresence, refreshPresence } from './contacts.js'
import { cacheLoad, cacheSave } from '../cache.js'
import * as rt from '../realtime.js'
import * as ep from '../endpoints.js'

const MAX_CACHED_MESSAGES = 50

// ---------- cache ----------

// restore renders the cached state of a user, if there is one. A page may
// have loaded some of it from the server meanwhile: what is already here
// is newer than the cache and stays.
export async function restore(userId) {
  const snap = await cacheLoad(userId)
  if (!snap || snap.userId !== userId || state.user?.id !== userId) return
  state.conversations = { ...(snap.conversations || {}), ...state.conversations }
  state.groups = { ...(snap.groups || {}), ...state.groups }
  if (!state.cursor) state.cursor = snap.cursor || null
  if (!state.contacts.length) state.contacts = snap.contacts || []
  for (const [id, list] of Object.entries(snap.messages || {})) {
    if (!state.messages[id]) state.messages[id] = { list, pending: [], hasMore: true, loaded: false }
  }
}

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

// ---------- the socket ----------

export function connect(onSessionEnded) {
  state.connection = 'reconnecting'
  rt.connect({ onFrame, onStatus: (s) => (state.connection = s), onSessionEnded })
}

export const disconnect = rt.disconnect

// The server sends typing (and presence of large groups) only to the
// connections that say which conversation they show: the open one while the
// tab is visible, none otherwise. Said again after every hello.
function sendViewing() {
  const id = document.visibilityState === 'hidden' ? null : state.openId
  rt.sendFrame('viewing', { conversation_id: id || null })
}
watch(() => state.openId, sendViewing)
document.addEventListener('visibilitychange', sendViewing)

function onFrame(f) {
  const d = f.data || {}
  switch (f.type) {
    case 'hello':
      sendViewing()
      sync().catch(() => {})
      break
    case 'message.created':
      onMessage(d.message)
      break
    case 'message.updated':
      onMessageUpdated(d.message)
      break
    case 'receipt':
      onReceipt(d)
      break
    case 'typing':
      onTyping(d)
      break
    case 'presence':
      onPresence(d)
      break
    case 'conversation.updated':
      putConversation(d.conversation)
      onChannelAdded(d.conversation)
      break
    case 'conversation.removed':
      dropConversation(d.conversation_id)
      break
    case 'group.updated':
      putGroup(d.group)
      break
    case 'group.changed':
      onGroupChanged(d.group)
      break
    case 'group.removed':
      dropGroup(d.group_id)
      break
  }
}

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
  let out
  try {
    out = await ep.getSync(state.cursor)
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
    // (a direct chat with no message yet is not listed: keep it if it is on screen)
    for (const id of Object.keys(state.conversations)) if (!keep.has(+id) && +id !== state.openId) delete state.conversations[id]
    const keepGroups = new Set(out.groups.map((g) => g.id))
    for (const id of Object.keys(state.groups)) if (!keepGroups.has(+id)) delete state.groups[id]
  }
  for (const c of out.conversations) putConversation(c)
  for (const id of out.removed) {
    // a direct chat with no message yet is not the peer's until one comes;
    // the one on screen stays (its first message will bring it back anyway)
    const c = state.conversations[id]
    if (id === state.openId && c?.kind === 'direct' && !c.last_seq) continue
    dropConversation(id)
  }
  for (const g of out.groups) putGroup(g)
  for (const id of out.removed_groups || []) dropGroup(id)
  for (const m of out.updated_messages || []) onMessageUpdated(m)
  if (out.updated_messages_truncated) await reloadHistory()
  state.cursor = out.cursor
  // what the sync brought is delivered to this device, chats opened or not
  for (const c of out.conversations) acknowledgeDelivery(state.conversations[c.id])
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
