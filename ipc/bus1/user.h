/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __BUS1_USER_H
#define __BUS1_USER_H

#include <linux/build_bug.h>
#include <linux/kref.h>
#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/seqlock.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>

enum bus1_resource {
	BUS1_RES_SLICES,
	BUS1_RES_HANDLES,
	BUS1_RES_BYTES,
	BUS1_RES_FDS,
	BUS1_RES_N,
};

/**
 * struct bus1_share_pcpu - returns to a user not yet folded into it
 * @lock:	protects @user and @share; taken by the owning CPU's settle and
 *		charge fast paths, and one CPU at a time by bus1_user_fold()
 * @user:	amount per resource settled on this CPU but still counted in
 *		the user's used[]
 * @share:	amount per resource settled on this CPU but still counted in
 *		the share's used[]
 *
 * One per CPU and per sender's share on a user. See "Per-CPU settling" in
 * Documentation/bus1/quota.rst.
 */
struct bus1_share_pcpu {
	spinlock_t lock; /* see above */
	u64 user[BUS1_RES_N];
	u64 share[BUS1_RES_N];
};

/**
 * struct bus1_share - resources one sending user holds on a receiver
 * @used:	amount per resource charged by messages not yet received; for
 *		a share on a user, plus what @pcpu holds
 * @uid:	the sending user
 * @user_share:	for the share on a peer, the same sender's share on the
 *		peer's user; NULL for a share on a user
 * @pcpu:	for a share on a user, the settled amounts not yet folded
 *		into @used and the user's used[]; NULL for a share on a peer
 *
 * A share on a peer is protected by the peer's data lock; @used of a share
 * on a user by the user's lock (and its seqcount, for lockless readers),
 * @pcpu by its own per-CPU locks.
 */
struct bus1_share {
	u64 used[BUS1_RES_N];
	kuid_t uid;
	struct bus1_share *user_share;
	struct bus1_share_pcpu __percpu *pcpu;
};

/**
 * struct bus1_quota - limits and usage of one accounting object
 * @max:	limit per resource
 * @used:	charged amount per resource
 * @shares:	struct bus1_share per sending user, indexed by kuid; entries
 *		are created outside of any lock by bus1_quota_prepare() and
 *		live as long as the quota
 * @last_share:	entry of @shares charged last, to skip the lookup when
 *		the same user sends again (peer quotas only)
 * @lock:	with lockdep only: the lock protecting a peer's quota (its
 *		data lock), for bus1_quota_assert_held(); NULL for a user's
 *		quota (its users take bus1_user.lock themselves)
 *
 * Embedded in a user (protected by bus1_user.lock) and in a peer (protected
 * by the peer's data lock). See Documentation/bus1/quota.rst.
 */
struct bus1_quota {
	u32 max[BUS1_RES_N];
	u64 used[BUS1_RES_N];
	struct xarray shares;
	struct bus1_share *last_share;
#ifdef CONFIG_LOCKDEP
	spinlock_t *lock; /* lockdep only, see above */
#endif
};

/**
 * bus1_quota_set_lock() - tell lockdep which lock protects a peer's quota
 * @quota:	initialized quota of a peer
 * @lock:	the peer's data lock
 */
static inline void bus1_quota_set_lock(struct bus1_quota *quota,
				       spinlock_t *lock)
{
#ifdef CONFIG_LOCKDEP
	quota->lock = lock;
#endif
}

/**
 * bus1_quota_assert_held() - assert that the lock of a peer's quota is held
 * @quota:	quota about to be charged or discharged
 */
static inline void bus1_quota_assert_held(struct bus1_quota *quota)
{
#ifdef CONFIG_LOCKDEP
	if (quota->lock)
		lockdep_assert_held(quota->lock);
#endif
}

/**
 * struct bus1_user - accounting record of one user
 * @ref:	kref; held by every peer opened by the user
 * @uid:	kernel uid of the user, constant
 * @lock:	protects @quota and the used[] of the shares on it
 * @seq:	written with @lock held around every change of quota.used[]
 *		or a share's used[], so the charge fast path can read both
 *		without @lock
 * @quota:	limits (from the module parameters at creation) and usage
 *
 * Records live in a global xarray keyed by uid, which is touched only by
 * open() and the final put, never on the message path.
 *
 * quota.used[] and the shares' used[] over-count: what was settled on a
 * CPU and not yet folded back sits in the share's per-CPU part (struct
 * bus1_share_pcpu). A charge that fits the over-counted figures fits the
 * exact ones; one that does not folds every CPU's part back under @lock
 * and checks again. So limits stay exact while a message that is charged
 * where the last one was settled takes no shared lock at all.
 *
 * Lock order: bus1_peer.data_lock -> @lock -> bus1_share_pcpu.lock (one
 * at a time). The fast paths take bus1_share_pcpu.lock without @lock.
 */
struct bus1_user {
	struct kref ref;
	kuid_t uid;
	spinlock_t lock; /* see above */
	seqcount_spinlock_t seq;
	struct bus1_quota quota;
};

/**
 * struct bus1_quota_resv - charges taken on a user for several messages
 * @user:	user charged, valid while @n is not 0
 * @share:	the sender's share on @user
 * @charge:	amount per resource of one message
 * @n:		number of messages the reservation still covers
 * @room:	per resource, what @user had left minus the sender's share
 *		on it (R - S_u of the share rule), with the whole
 *		reservation counted as used
 *
 * A multicast to several peers of one user charges the user once for all
 * of them (bus1_quota_reserve()) and each peer alone (bus1_quota_charge_
 * reserved()). Owned by one SEND, on its stack; no lock of its own. See
 * "Multicast charges" in Documentation/bus1/quota.rst.
 */
struct bus1_quota_resv {
	struct bus1_user *user;
	struct bus1_share *share;
	u32 charge[BUS1_RES_N];
	unsigned int n;
	s64 room[BUS1_RES_N];
};

extern unsigned int bus1_user_slices_max;
extern unsigned int bus1_user_handles_max;
extern unsigned int bus1_user_inflight_bytes_max;
extern unsigned int bus1_user_inflight_fds_max;

struct bus1_user *bus1_user_ref_by_uid(kuid_t uid);
void bus1_user_unref(struct bus1_user *user);
void bus1_quota_init(struct bus1_quota *quota, const u32 *max);
void bus1_quota_deinit(struct bus1_quota *quota);
int bus1_quota_prepare(struct bus1_quota *peer, struct bus1_user *user,
		       kuid_t sender);
int bus1_quota_charge(struct bus1_quota *peer, struct bus1_user *user,
		      const u32 *charge);
void bus1_quota_discharge(struct bus1_quota *peer, struct bus1_user *user,
			  const u32 *charge);
int bus1_quota_charge_shared(struct bus1_quota *peer, struct bus1_user *user,
			     kuid_t sender, const u32 *charge,
			     struct bus1_share **sharep);
bool bus1_quota_reserve(struct bus1_quota_resv *resv, struct bus1_user *user,
			struct bus1_share *su, const u32 *charge,
			unsigned int n);
int bus1_quota_charge_reserved(struct bus1_quota *peer,
			       struct bus1_quota_resv *resv, kuid_t sender,
			       struct bus1_share **sharep);
void bus1_quota_unreserve(struct bus1_quota_resv *resv);
void bus1_users_exit(void);

/*
 * The four resources spelled out: a loop of four costs more instructions
 * than its body, and these run for every message. Adding or subtracting 0
 * is cheaper than testing for it.
 */
static inline void bus1_res_add(u64 *used, const u32 *n)
{
	BUILD_BUG_ON(BUS1_RES_N != 4);
	used[0] += n[0];
	used[1] += n[1];
	used[2] += n[2];
	used[3] += n[3];
}

static inline void bus1_res_sub(u64 *used, const u32 *n)
{
	BUILD_BUG_ON(BUS1_RES_N != 4);
	used[0] -= n[0];
	used[1] -= n[1];
	used[2] -= n[2];
	used[3] -= n[3];
}

/* adds @n to @sum, for two settles run as one (bus1_recv_take()) */
static inline void bus1_res_add_u32(u32 *sum, const u32 *n)
{
	BUILD_BUG_ON(BUS1_RES_N != 4);
	sum[0] += n[0];
	sum[1] += n[1];
	sum[2] += n[2];
	sum[3] += n[3];
}

void bus1_quota_settle_user(struct bus1_user *user, const u32 *discharge);

/**
 * bus1_quota_settle() - take back a share and return charges, in one go
 * @peer:	quota of the receiving peer, its data lock held
 * @user:	user of the receiving peer
 * @share:	share returned by bus1_quota_charge_shared(), or NULL
 * @unshare:	amount per resource to take out of @share
 * @discharge:	amount per resource to return to @peer and @user
 *
 * Inline: it runs twice per message, at RECV and at SLICE_RELEASE. With a
 * share, what goes back to the user is left on this CPU (struct
 * bus1_share_pcpu) for the next charge here, or for the next fold.
 */
static inline void bus1_quota_settle(struct bus1_quota *peer,
				     struct bus1_user *user,
				     struct bus1_share *share,
				     const u32 *unshare,
				     const u32 *discharge)
{
	struct bus1_share_pcpu *pc;

	bus1_quota_assert_held(peer);
	bus1_res_sub(peer->used, discharge);
	if (!share) {
		bus1_quota_settle_user(user, discharge);
		return;
	}
	bus1_res_sub(share->used, unshare);
	pc = raw_cpu_ptr(share->user_share->pcpu);
	spin_lock(&pc->lock);
	bus1_res_add(pc->share, unshare);
	bus1_res_add(pc->user, discharge);
	spin_unlock(&pc->lock);
}

#endif /* __BUS1_USER_H */
