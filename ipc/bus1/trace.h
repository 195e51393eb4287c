/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM bus1

#if !defined(__BUS1_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define __BUS1_TRACE_H

#include <linux/tracepoint.h>
#include <linux/types.h>

TRACE_EVENT(bus1_send,
	TP_PROTO(u64 peer, u64 flags, u64 n_destinations, u64 n_bytes,
		 u64 n_handles, u64 n_fds),
	TP_ARGS(peer, flags, n_destinations, n_bytes, n_handles, n_fds),
	TP_STRUCT__entry(
		__field(u64, peer)
		__field(u64, flags)
		__field(u64, n_destinations)
		__field(u64, n_bytes)
		__field(u64, n_handles)
		__field(u64, n_fds)
	),
	TP_fast_assign(
		__entry->peer = peer;
		__entry->flags = flags;
		__entry->n_destinations = n_destinations;
		__entry->n_bytes = n_bytes;
		__entry->n_handles = n_handles;
		__entry->n_fds = n_fds;
	),
	TP_printk("peer=%llx flags=%llx destinations=%llu bytes=%llu handles=%llu fds=%llu",
		  __entry->peer, __entry->flags, __entry->n_destinations,
		  __entry->n_bytes, __entry->n_handles, __entry->n_fds)
);

TRACE_EVENT(bus1_recv,
	TP_PROTO(u64 peer, u64 type, u64 destination, u64 offset,
		 u64 n_bytes, u64 n_handles, u64 n_fds),
	TP_ARGS(peer, type, destination, offset, n_bytes, n_handles, n_fds),
	TP_STRUCT__entry(
		__field(u64, peer)
		__field(u64, type)
		__field(u64, destination)
		__field(u64, offset)
		__field(u64, n_bytes)
		__field(u64, n_handles)
		__field(u64, n_fds)
	),
	TP_fast_assign(
		__entry->peer = peer;
		__entry->type = type;
		__entry->destination = destination;
		__entry->offset = offset;
		__entry->n_bytes = n_bytes;
		__entry->n_handles = n_handles;
		__entry->n_fds = n_fds;
	),
	TP_printk("peer=%llx type=%llu destination=%llx offset=%llx bytes=%llu handles=%llu fds=%llu",
		  __entry->peer, __entry->type, __entry->destination,
		  __entry->offset, __entry->n_bytes, __entry->n_handles,
		  __entry->n_fds)
);

DECLARE_EVENT_CLASS(bus1_node_event,
	TP_PROTO(u64 peer, u64 node),
	TP_ARGS(peer, node),
	TP_STRUCT__entry(
		__field(u64, peer)
		__field(u64, node)
	),
	TP_fast_assign(
		__entry->peer = peer;
		__entry->node = node;
	),
	TP_printk("owner=%llx node=%llx", __entry->peer, __entry->node)
);

DEFINE_EVENT(bus1_node_event, bus1_node_destroy,
	TP_PROTO(u64 peer, u64 node),
	TP_ARGS(peer, node)
);

DEFINE_EVENT(bus1_node_event, bus1_node_release,
	TP_PROTO(u64 peer, u64 node),
	TP_ARGS(peer, node)
);

TRACE_EVENT(bus1_slice_release,
	TP_PROTO(u64 peer, u64 offset, u64 size),
	TP_ARGS(peer, offset, size),
	TP_STRUCT__entry(
		__field(u64, peer)
		__field(u64, offset)
		__field(u64, size)
	),
	TP_fast_assign(
		__entry->peer = peer;
		__entry->offset = offset;
		__entry->size = size;
	),
	TP_printk("peer=%llx offset=%llx size=%llu", __entry->peer,
		  __entry->offset, __entry->size)
);

TRACE_EVENT(bus1_quota_refusal,
	TP_PROTO(u64 peer, u32 sender_uid, u64 slices, u64 handles,
		 u64 bytes, u64 fds),
	TP_ARGS(peer, sender_uid, slices, handles, bytes, fds),
	TP_STRUCT__entry(
		__field(u64, peer)
		__field(u32, sender_uid)
		__field(u64, slices)
		__field(u64, handles)
		__field(u64, bytes)
		__field(u64, fds)
	),
	TP_fast_assign(
		__entry->peer = peer;
		__entry->sender_uid = sender_uid;
		__entry->slices = slices;
		__entry->handles = handles;
		__entry->bytes = bytes;
		__entry->fds = fds;
	),
	TP_printk("peer=%llx sender_uid=%u slices=%llu handles=%llu bytes=%llu fds=%llu",
		  __entry->peer, __entry->sender_uid, __entry->slices,
		  __entry->handles, __entry->bytes, __entry->fds)
);

TRACE_EVENT(bus1_flush,
	TP_PROTO(u64 peer, u64 flags, u64 ts),
	TP_ARGS(peer, flags, ts),
	TP_STRUCT__entry(
		__field(u64, peer)
		__field(u64, flags)
		__field(u64, ts)
	),
	TP_fast_assign(
		__entry->peer = peer;
		__entry->flags = flags;
		__entry->ts = ts;
	),
	TP_printk("peer=%llx flags=%llx ts=%llu", __entry->peer,
		  __entry->flags, __entry->ts)
);

#endif /* __BUS1_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
