/* whitelist-private: the same as "private", under the seed's name for it;
 * admit only loopback, private and link-local sources (127/8, 10/8,
 * 172.16/12, 192.168/16, 169.254/16, ::1, fc00::/7, fe80::/10 and the
 * IPv4-mapped forms of the IPv4 ranges); drop everything else.
 *
 * No maps, nothing to set.
 */
#include "private.c"
