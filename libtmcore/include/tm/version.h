/* tm/version.h — the tmkit version, as compiled in. */
#ifndef TM_VERSION_H
#define TM_VERSION_H
#ifdef __cplusplus
extern "C" {
#endif
/* "MAJOR.MINOR.PATCH" of the library a program is linked with. */
const char *tm_version_string(void);
#ifdef __cplusplus
}
#endif
#endif
