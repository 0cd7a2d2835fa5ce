/*
 * tmrun -p PID (tmrun_attach.c, tmrun_inject.c): loading the recorder into
 * a running process with ptrace, and what it needs to know of the
 * process's memory (the mapped C library, its dlopen).
 */
#ifndef TMRUN_ATTACH_H
#define TMRUN_ATTACH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct tmrun_attach_opts {
    pid_t pid;
    const char *lib;    /* absolute path of libtmrecorder.so */
    const char *output; /* absolute path of FILE */
    long nframe;
    int peak;
    unsigned long long sample; /* --sample: mean bytes between samples, 0 = every block */
    double for_sec;            /* 0: until SIGINT/SIGTERM or the target's exit */
    double interval;           /* 0: none */
} tmrun_attach_opts;

/* Runs the whole attach session; returns tmrun's exit status. */
int tmrun_attach(const tmrun_attach_opts *o);

/* --- the target's memory (tmrun_inject.c) --------------------------------- */

/* The file mapped with offset 0 whose base name passes match(), and its
 * load bias; 0, or -1 when none is mapped. */
int tmrun_maps_find(pid_t pid, int (*match)(const char *path, const void *arg), const void *arg,
                    char *path, size_t cap, uintptr_t *bias);
/* The address of the defined dynamic symbol name in the ELF file path
 * mapped at bias (the default version when there are several); 0 when
 * absent. */
uintptr_t tmrun_elf_symbol(const char *path, uintptr_t bias, const char *name);

/* A thread of pid stopped by PTRACE_SEIZE + PTRACE_INTERRUPT at a point
 * where calling into the C library is safe; *tid then holds it.  0, or a
 * negative errno (EPERM, ESRCH, ...) with a message in err. */
int tmrun_thread_seize(pid_t pid, pid_t *tid, char *err, size_t errcap);
/* Calls fn(args...) in the stopped thread tid with the strings strs[] (NULL
 * entries skipped) copied onto its stack below the red zone, each replacing
 * the argument of the same index; restores registers and memory exactly
 * and leaves the thread stopped.  0 with *ret, or -1 with err. */
int tmrun_remote_call(pid_t tid, uintptr_t fn, const uint64_t args[6], const char *const strs[6],
                      uint64_t *ret, char *err, size_t errcap);
/* Reads a NUL-terminated string at addr of the stopped tid. */
int tmrun_remote_string(pid_t tid, uintptr_t addr, char *out, size_t cap);
/* The main thread stopped wherever it is (a permission check). */
int tmrun_thread_seize_any(pid_t pid, pid_t *tid, char *err, size_t errcap);
void tmrun_thread_release(pid_t tid);

#endif
