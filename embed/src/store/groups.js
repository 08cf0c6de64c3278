// Groups, their channels, members and invites. The group page renders
// state.members and state.invites; group.changed keeps them current.
import { computed } from 'vue'
import { state, userCache } from './state.js'
import { putConversation, dropConversation } from './conversations.js'
import { searchUsers } from './contacts.js'
import * as ep from '../endpoints.js'

export const sortedGroups = computed(() =>
  Object.values(state.groups).sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id),
)

// putGroup takes a member's view of a group (group.updated, REST).
export function putGroup(g) {
  for (const c of g.channels) putConversation(c)
  const old = state.groups[g.id]
  // channels the group no longer has are gone
  if (old) {
    const keep = new Set(g.channels.map((c) => c.id))
    for (const cid of old.channels || []) if (!keep.has(cid)) dropConversation(cid)
  }
  state.groups[g.id] = { ...g, channels: g.channels.map((c) => c.id) }
}

// onGroupChanged takes a group's shared fields (group.changed): names,
// size and channel list; each channel's own counts stay as they are.
export function onGroupChanged(shared) {
  const g = state.groups[shared.id]
  if (!g) return
  Object.assign(g, { name: shared.name, description: shared.description, member_count: shared.member_count })
  const keep = new Set(shared.channels.map((c) => c.id))
  for (const cid of g.channels) if (!keep.has(cid)) dropConversation(cid)
  g.channels = shared.channels.map((c) => c.id).filter((id) => state.conversations[id])
  for (const ch of shared.channels) {
    const c = state.conversations[ch.id]
    if (c) Object.assign(c, { name: ch.name, title: ch.name, member_count: shared.member_count })
  }
  if (state.members[g.id]) loadMembers(g.id).catch(() => {})
  if (state.invites[g.id] && isAdmin(g)) loadInvites(g.id).catch(() => {})
}

// onChannelAdded files a new channel (conversation.updated) under its group.
export function onChannelAdded(c) {
  const g = c.group_id && state.groups[c.group_id]
  if (g && !g.channels.includes(c.id)) g.channels.push(c.id)
}

export function dropGroup(id) {
  const g = state.groups[id]
  if (g) for (const cid of g.channels) dropConversation(cid)
  delete state.groups[id]
  delete state.members[id]
  delete state.invites[id]
}

export const isAdmin = (g) => g && (g.my_role === 'admin' || g.my_role === 'owner')

export async function createGroup(name, description) {
  const { group } = await ep.postGroup({ name, description })
  putGroup(group)
  return group
}

// openGroup loads what the group page shows: the group, its members and,
// for admins, its invites.
export async function openGroup(gid) {
  const { group } = await ep.getGroup(gid)
  putGroup(group)
  await Promise.all([loadMembers(gid), isAdmin(state.groups[gid]) ? loadInvites(gid) : null])
}

export async function updateGroup(gid, fields) {
  const { group } = await ep.patchGroup(gid, fields)
  putGroup(group)
}

export async function deleteGroup(gid) {
  await ep.deleteGroup(gid)
  dropGroup(gid)
}

export async function loadMembers(gid) {
  const { members } = await ep.getMembers(gid)
  for (const m of members) userCache[m.user.id] = m.user
  state.members[gid] = members
  return members
}

async function loadInvites(gid) {
  const { invites } = await ep.getInvites(gid)
  state.invites[gid] = invites
}

export async function addMember(gid, username) {
  const users = await searchUsers(username)
  const u = users.find((x) => x.username === username.toLowerCase())
  if (!u) throw Object.assign(new Error('No user with that username.'), { field: 'username' })
  await ep.postMember(gid, u.id)
  await loadMembers(gid)
}

export async function setRole(gid, userId, role) {
  await ep.patchMember(gid, userId, role)
  await loadMembers(gid)
}

export async function removeMember(gid, userId) {
  await ep.deleteMember(gid, userId)
  if (userId === state.user.id) dropGroup(gid)
  else await loadMembers(gid)
}

export async function transferOwnership(gid, userId) {
  const { group } = await ep.postTransfer(gid, userId)
  putGroup(group)
  await loadMembers(gid)
}

export async function createChannel(gid, name) {
  const { conversation } = await ep.postChannel(gid, name)
  putConversation(conversation)
  onChannelAdded(conversation)
  return conversation
}

export async function renameChannel(gid, cid, name) {
  const { conversation } = await ep.patchChannel(gid, cid, name)
  putConversation(conversation)
}

export async function deleteChannel(gid, cid) {
  await ep.deleteChannel(gid, cid)
  dropConversation(cid)
  const g = state.groups[gid]
  if (g) g.channels = g.channels.filter((x) => x !== cid)
}

export async function createInvite(gid, opts) {
  const out = await ep.postInvite(gid, opts)
  await loadInvites(gid)
  return out
}

export async function revokeInvite(gid, code) {
  await ep.deleteInvite(gid, code)
  await loadInvites(gid)
}

export async function previewInvite(code) {
  const { group } = await ep.getInvite(code)
  return group
}

export async function acceptInvite(code) {
  const { group } = await ep.postAcceptInvite(code)
  putGroup(group)
  return group
}
