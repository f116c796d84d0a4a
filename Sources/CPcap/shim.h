// libpcap for Swift (DESIGN.md §2, CPcap). Installed by scripts/bootstrap.sh (libpcap-dev).
#ifndef PRINTPLANE_CPCAP_SHIM_H
#define PRINTPLANE_CPCAP_SHIM_H

#include <pcap/pcap.h>
#include <sched.h>

// setns(2) is behind _GNU_SOURCE in glibc's <sched.h>; declare it so Swift can call it
// on the capture thread without the whole module needing _GNU_SOURCE.
extern int setns(int fd, int nstype);

#ifndef CLONE_NEWNET
#define CLONE_NEWNET 0x40000000
#endif

static const int cpcap_clone_newnet = CLONE_NEWNET;

#endif
