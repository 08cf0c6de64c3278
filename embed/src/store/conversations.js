// The conversation list: direct chats and channels, and the caller's own
// flags on them.
import { computed } from 'vue'
import { state } from './state.js'
import * as ep from '../endpoints.js'

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

export function putConversation(c) {
  const old = state.conversations[c.id]
  state.conversations[c.id] = old ? Object.assign(old, c) : c
  // history the user cleared is gone from this device too
  const m = state.messages[c.id]
  if (m && c.cleared_seq) m.list = m.list.filter((x) => x.seq > c.cleared_seq)
}

export function dropConversation(id) {
  delete state.conversations[id]
  delete state.messages[id]
  delete state.receipts[id]
  delete state.receiptCounts[id]
}

// fetchConversation loads a conversation this device has not seen yet.
export async function fetchConversation(id) {
  const { conversation } = await ep.getConversation(id)
  putConversation(conversation)
  return state.conversations[id]
}

export async function startDirect(userId) {
  const { conversation } = await ep.postDirect(userId)
  putConversation(conversation)
  return conversation.id
}

export async function setFlags(convId, flags) {
  const { conversation } = await ep.patchConversation(convId, flags)
  putConversation(conversation)
}

export async function clearConversation(convId) {
  await ep.postClear(convId)
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
  await ep.deleteConversation(convId)
  dropConversation(convId)
}
