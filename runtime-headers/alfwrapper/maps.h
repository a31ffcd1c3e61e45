/* What a filter tells alfwrapper about its maps, beyond their BTF types.
 *
 *     struct {
 *         __uint(type, BPF_MAP_TYPE_LPM_TRIE);
 *         __type(key, struct alf_ipv4_subnet);
 *         __type(value, __u8);
 *         __uint(max_entries, 1024);
 *         __uint(map_flags, BPF_F_NO_PREALLOC);
 *     } blocked SEC(".maps");
 *     ALF_MAP_DEFAULT_VALUE(blocked, 1);
 *     ALF_MAP_RESIZABLE(blocked);
 *
 * They are read-only globals that alfwrapper finds by name in the object.
 */
#ifndef ALFWRAPPER_MAPS_H
#define ALFWRAPPER_MAPS_H

#include <alfwrapper/types.h>
#include <alfwrapper/helpers.h>

/* The value stored when the command line gives a key alone (--set MAP,KEY,
 * or a bare KEY line of --set-file): e.g. 1 for a set-like map. The map must
 * be declared with __type(value, ...). */
#define ALF_MAP_DEFAULT_VALUE(map, ...) \
	const volatile __typeof__(*(map).value) alf_default_value__##map SEC(".rodata") = __VA_ARGS__

/* alfwrapper may raise the map's max_entries when the command line gives
 * more entries than it holds (say so only if the program does not depend on
 * the size, e.g. it never loops over the map's indexes). */
#define ALF_MAP_RESIZABLE(map) const volatile __u8 alf_resizable__##map SEC(".rodata") = 1

/* The map is a list of slots that the program walks from slot 0 to the first
 * empty one, in a loop of a fixed length: alfwrapper refuses entries that
 * leave a gap (they would never be seen) and keeps the declared size
 * (--map-size is refused). For an array keyed by a __u32 slot. */
#define ALF_MAP_SLOTS(map) const volatile __u8 alf_slots__##map SEC(".rodata") = 1

#endif /* ALFWRAPPER_MAPS_H */
