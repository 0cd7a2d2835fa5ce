/*
 * Whether a program file can be run under LD_PRELOAD at all (tmrun): no
 * dynamic loader runs a static executable, so nothing could interpose its
 * malloc.
 */
#ifndef TM_TOOL_ELF_H
#define TM_TOOL_ELF_H

/* 1 if the file is an ELF executable that no dynamic loader runs: no PT_INTERP,
 * and no PT_DYNAMIC or one that names neither a needed library nor a soname
 * (-static-pie; the loader itself, run as a program, has a soname).  0 for
 * anything else, scripts and unreadable files included: execvp decides. */
int tool_elf_is_static_fd(int fd);
/* The same for the file at path; 0 when it cannot be opened. */
int tool_elf_is_static(const char *path);

#endif
