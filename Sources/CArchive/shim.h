#ifndef CARCHIVE_SHIM_H
#define CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

/* AE_IFREG and friends are cast macros ((__LA_MODE_T)0100000) that Swift does not import. */
static const unsigned int CARCHIVE_AE_IFREG = AE_IFREG;
static const unsigned int CARCHIVE_AE_IFDIR = AE_IFDIR;
static const unsigned int CARCHIVE_AE_IFLNK = AE_IFLNK;
static const unsigned int CARCHIVE_AE_IFCHR = AE_IFCHR;
static const unsigned int CARCHIVE_AE_IFBLK = AE_IFBLK;
static const unsigned int CARCHIVE_AE_IFIFO = AE_IFIFO;
static const unsigned int CARCHIVE_AE_IFSOCK = AE_IFSOCK;
#endif
