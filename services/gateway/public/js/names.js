// Names where the API gives ids: rooms by id, sections (with their course names) by code.
// Read once per page visit and kept while the page lives.

import { api, everything } from './api.js';

const rooms = new Map();

/** The rooms named by `ids` (from the rooms list, or one by one for any it lacks). */
export async function roomNames(ids) {
  const missing = () => [...new Set(ids)].filter((id) => !rooms.has(id));
  if (missing().length > 0) {
    const all = await everything('/api/rooms', 5);
    if (all.ok) for (const room of all.body) rooms.set(room.id, room);
  }
  await Promise.all(
    missing().map(async (id) => {
      const one = await api('GET', `/api/rooms/${id}`);
      rooms.set(id, one.ok ? one.body : { id, name: `Room ${id}` });
    }),
  );
  return (id) => rooms.get(id)?.name ?? `Room ${id}`;
}

export const rememberRooms = (list) => list.forEach((room) => rooms.set(room.id, room));

/** A term's sections by code (every page of the catalog). */
export async function sectionsOf(term) {
  const all = await everything(`/api/sections?term=${encodeURIComponent(term)}`);
  return all.ok ? new Map(all.body.map((s) => [s.code, s])) : new Map();
}

/** "Calculus I (G-MAT101-A)", or the code alone when the section is unknown. */
export const sectionLabel = (sections, code) => {
  const section = sections.get(code);
  return section ? `${section.course_name} (${code})` : code;
};
