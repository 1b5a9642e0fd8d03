// What a started chat needs and the launcher does not: one chunk, imported by Widget.connect().
export { connectRealtime } from '../shared/realtime.js';
export { Conversation } from '../shared/conversation.js';
