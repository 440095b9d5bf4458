/* SPDX-License-Identifier: GPL-2.0 */
/* The simulated hypervisor's VTL-return entry, for the VTL module: the same source. */
#include "vtl_x86.S"
