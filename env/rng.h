/* rng.h - the project's random number generator: xoshiro256** seeded by
 * splitmix64 (Blackman & Vigna). Header-only and inline: the simulator draws
 * from it in its hot loop. Deterministic across platforms; never rand(). */
#ifndef RLS_RNG_H
#define RLS_RNG_H

#include <stdint.h>

/* Generator state; seed it with rls_rng_seed before use. */
struct rls_rng {
    uint64_t s[4];
};

/* splitmix64: advances *x and returns the next output (also a good hash). */
static inline uint64_t rls_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Seeds r from one 64-bit seed (four splitmix64 outputs). */
static inline void rls_rng_seed(struct rls_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = rls_splitmix64(&x);
}

static inline uint64_t rls__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* The next 64 random bits. */
static inline uint64_t rls_rng_next(struct rls_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rls__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rls__rotl(s[3], 45);
    return result;
}

/* Uniform in the open interval (0, 1) (never 0, so log() is safe). */
static inline double rls_rng_unif(struct rls_rng *r)
{
    return ((double)(rls_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

#endif
