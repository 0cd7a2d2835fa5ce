/* rec_attach_spin SECONDS: the main thread spins in user code (no call, no
 * system call) with values in xmm0 and rax that it checks on every turn:
 * where tmrun -p stops it and makes its calls (tests/recorder/rec_attach.sh).
 * A register not restored exactly after the calls ends it with status 3. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? (double)(argv[1][0] - '0') : 3;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t turns = 0;
    for (;;) {
        uint64_t bad;
        /* 2^24 turns with xmm0 = 2.5 and rax = a pattern, checked each turn. */
        __asm__ volatile("movabs $0x4004000000000000, %%rax\n\t"
                         "movq %%rax, %%xmm0\n\t"
                         "movabs $0x5a5a5a5a12345678, %%rax\n\t"
                         "mov $0x1000000, %%rcx\n\t"
                         "xor %0, %0\n"
                         "1:\n\t"
                         "movq %%xmm0, %%rdx\n\t"
                         "movabs $0x4004000000000000, %%rsi\n\t"
                         "cmp %%rsi, %%rdx\n\t"
                         "jne 2f\n\t"
                         "movabs $0x5a5a5a5a12345678, %%rsi\n\t"
                         "cmp %%rsi, %%rax\n\t"
                         "jne 2f\n\t"
                         "dec %%rcx\n\t"
                         "jnz 1b\n\t"
                         "jmp 3f\n"
                         "2:\n\t"
                         "mov $1, %0\n"
                         "3:\n"
                         : "=&r"(bad)
                         :
                         : "rax", "rcx", "rdx", "rsi", "xmm0", "cc");
        if (bad) {
            printf("rec_attach_spin: a register changed under it\n");
            return 3;
        }
        turns++;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 > seconds)
            break;
    }
    printf("rec_attach_spin: %llu turns, registers intact\n", (unsigned long long)turns);
    return 0;
}
