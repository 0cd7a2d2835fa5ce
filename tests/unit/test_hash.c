/* The shared hash index: lookups through collisions, growth, removal. */
#include "tmtest.h"

#include "tm_alloc.h"
#include "tm_hash.h"

/* Element i's key is keys[i]; `hash_of` decides how much they collide. */
static uint32_t find(const tm_hindex *ix, const uint64_t *keys, uint64_t key, uint64_t h,
                     size_t *pos)
{
    for (uint32_t id = tm_hindex_first(ix, h, pos); id != TM_HINDEX_NONE;
         id = tm_hindex_next(ix, h, pos))
        if (keys[id] == key)
            return id;
    return TM_HINDEX_NONE;
}

static uint64_t spread(uint64_t k)
{
    return tm_hash_u64(k);
}
/* Eight keys a hash, all in one cluster: every probe walks past others. */
static uint64_t clash(uint64_t k)
{
    return tm_hash_u64(k / 8) & 0xffff;
}

static void check(uint64_t (*hash_of)(uint64_t))
{
    enum { N = 5000 };
    static uint64_t keys[N];
    tm_hindex ix = { 0 };
    size_t pos;
    for (uint32_t i = 0; i < N; i++) {
        keys[i] = 1000003u * (uint64_t)i + 7;
        assert_int_equal(find(&ix, keys, keys[i], hash_of(keys[i]), &pos), TM_HINDEX_NONE);
        assert_int_equal(tm_hindex_add(&ix, pos, hash_of(keys[i]), i), 0);
    }
    assert_int_equal(ix.count, N);
    assert_true(ix.count * 4 <= ix.cap * 3);
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(find(&ix, keys, keys[i], hash_of(keys[i]), &pos), i);
    /* Remove every third element: the rest must stay reachable past the
     * holes backward shifting closed. */
    for (uint32_t i = 0; i < N; i += 3)
        tm_hindex_remove(&ix, hash_of(keys[i]), i);
    tm_hindex_remove(&ix, hash_of(keys[1]), N + 1); /* not there: nothing */
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(find(&ix, keys, keys[i], hash_of(keys[i]), &pos),
                         i % 3 ? i : TM_HINDEX_NONE);
    assert_int_equal(ix.count, N - (N + 2) / 3);
    for (uint32_t i = 0; i < N; i += 3)
        assert_int_equal(tm_hindex_insert(&ix, hash_of(keys[i]), i), 0);
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(find(&ix, keys, keys[i], hash_of(keys[i]), &pos), i);
    tm_hindex_clear(&ix);
    assert_int_equal(find(&ix, keys, keys[5], hash_of(keys[5]), &pos), TM_HINDEX_NONE);
    tm_hindex_free(&ix);
    assert_null(ix.slots);
}

static void test_spread_keys(void **state)
{
    (void)state;
    check(spread);
}

static void test_clustered_keys(void **state)
{
    (void)state;
    check(clash);
}

static void test_growth_out_of_memory_leaves_index_usable(void **state)
{
    (void)state;
    tm_hindex ix = { 0 };
    uint32_t n = 0;
    tm_alloc_fail_after(0);
    /* Fill up to the load limit, so that the next insert must grow. */
    for (; n < 100 || (ix.count + 1) * 4 <= ix.cap * 3; n++)
        assert_int_equal(tm_hindex_insert(&ix, tm_hash_u64(n), n), 0);
    size_t cap = ix.cap;
    tm_alloc_fail_after(1);
    assert_int_equal(tm_hindex_insert(&ix, tm_hash_u64(n), n), -1);
    assert_int_equal(tm_hindex_reserve(&ix, 10 * cap), -1);
    tm_alloc_fail_after(0);
    assert_int_equal(ix.cap, cap);
    size_t pos;
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(tm_hindex_first(&ix, tm_hash_u64(i), &pos), i);
    tm_hindex_free(&ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spread_keys),
        cmocka_unit_test(test_clustered_keys),
        cmocka_unit_test(test_growth_out_of_memory_leaves_index_usable),
    };
    return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
