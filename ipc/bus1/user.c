// SPDX-License-Identifier: GPL-2.0
/*
 * Users and quotas: every peer is charged to the user that opened it, and
 * resources a sender consumes on a receiver are charged to the receiver
 * and the receiver's user.
 */

#include <linux/err.h>
#include <linux/kref.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>
#include <linux/xarray.h>
#include "user.h"

unsigned int bus1_user_slices_max = 16384;
unsigned int bus1_user_handles_max = 65536;
unsigned int bus1_user_inflight_bytes_max = 16 * 1024 * 1024;
unsigned int bus1_user_inflight_fds_max = 4096;

static DEFINE_XARRAY(bus1_users);

/*
 * Folds what every CPU settled back into the user's and the shares'
 * used[], which are exact afterwards (until the next settle). Takes each
 * per-CPU lock in turn: a charge fast path running meanwhile only takes
 * back what its own CPU settled, which keeps the figures over-counted.
 */
static void bus1_user_fold(struct bus1_user *user)
{
	struct bus1_share_pcpu *pc;
	struct bus1_share *share;
	unsigned long index;
	int cpu, i;

	lockdep_assert_held(&user->lock);
	write_seqcount_begin(&user->seq);
	xa_for_each(&user->quota.shares, index, share) {
		for_each_possible_cpu(cpu) {
			pc = per_cpu_ptr(share->pcpu, cpu);
			spin_lock(&pc->lock);
			for (i = 0; i < BUS1_RES_N; ++i) {
				user->quota.used[i] -= pc->user[i];
				share->used[i] -= pc->share[i];
				pc->user[i] = 0;
				pc->share[i] = 0;
			}
			spin_unlock(&pc->lock);
		}
	}
	write_seqcount_end(&user->seq);
}

static void bus1_user_free(struct kref *ref)
{
	struct bus1_user *user = container_of(ref, struct bus1_user, ref);
	int i;

	spin_lock(&user->lock);
	bus1_user_fold(user);
	spin_unlock(&user->lock);
	for (i = 0; i < BUS1_RES_N; ++i)
		WARN_ON(user->quota.used[i]);
	bus1_quota_deinit(&user->quota);
	kfree(user);
}

/**
 * bus1_user_ref_by_uid() - find or create the record of a user
 * @uid:	kernel uid
 *
 * Return: a new reference to the record, or ERR_PTR(-ENOMEM).
 */
struct bus1_user *bus1_user_ref_by_uid(kuid_t uid)
{
	unsigned long index = __kuid_val(uid);
	struct bus1_user *user, *old;
	u32 max[BUS1_RES_N];

	xa_lock(&bus1_users);
	user = xa_load(&bus1_users, index);
	if (user && kref_get_unless_zero(&user->ref)) {
		xa_unlock(&bus1_users);
		return user;
	}
	xa_unlock(&bus1_users);

	user = kzalloc(sizeof(*user), GFP_KERNEL_ACCOUNT);
	if (!user)
		return ERR_PTR(-ENOMEM);
	kref_init(&user->ref);
	user->uid = uid;
	spin_lock_init(&user->lock);
	seqcount_spinlock_init(&user->seq, &user->lock);
	max[BUS1_RES_SLICES] = bus1_user_slices_max;
	max[BUS1_RES_HANDLES] = bus1_user_handles_max;
	max[BUS1_RES_BYTES] = bus1_user_inflight_bytes_max;
	max[BUS1_RES_FDS] = bus1_user_inflight_fds_max;
	bus1_quota_init(&user->quota, max);

	xa_lock(&bus1_users);
	old = xa_load(&bus1_users, index);
	if (old && kref_get_unless_zero(&old->ref)) {
		xa_unlock(&bus1_users);
		bus1_user_free(&user->ref);
		return old;
	}
	/* a dying record may still be stored: replace it */
	old = __xa_store(&bus1_users, index, user, GFP_ATOMIC);
	xa_unlock(&bus1_users);
	if (xa_is_err(old)) {
		bus1_user_free(&user->ref);
		return ERR_PTR(-ENOMEM);
	}
	return user;
}

static void bus1_user_release(struct kref *ref)
	__releases(&bus1_users.xa_lock)
{
	struct bus1_user *user = container_of(ref, struct bus1_user, ref);

	__xa_cmpxchg(&bus1_users, __kuid_val(user->uid), user, NULL, 0);
	xa_unlock(&bus1_users);
	bus1_user_free(ref);
}

/**
 * bus1_user_unref() - drop a reference to a user record
 * @user:	record to drop, or NULL
 */
void bus1_user_unref(struct bus1_user *user)
{
	if (user)
		kref_put_lock(&user->ref, bus1_user_release,
			      &bus1_users.xa_lock);
}

/**
 * bus1_quota_init() - initialize an accounting object
 * @quota:	object to initialize
 * @max:	limit per resource
 */
void bus1_quota_init(struct bus1_quota *quota, const u32 *max)
{
	memcpy(quota->max, max, sizeof(quota->max));
	memset(quota->used, 0, sizeof(quota->used));
	xa_init(&quota->shares);
	quota->last_share = NULL;
	bus1_quota_set_lock(quota, NULL);
}

/**
 * bus1_quota_deinit() - release the share records of an accounting object
 * @quota:	object with nothing charged
 */
void bus1_quota_deinit(struct bus1_quota *quota)
{
	struct bus1_share *share;
	unsigned long index;

	xa_for_each(&quota->shares, index, share) {
		free_percpu(share->pcpu);
		kfree(share);
	}
	xa_destroy(&quota->shares);
}

static struct bus1_share *bus1_quota_prepare_one(struct bus1_quota *quota,
						 kuid_t sender,
						 struct bus1_share *user_share)
{
	struct bus1_share *share, *old;
	int cpu;

	share = xa_load(&quota->shares, __kuid_val(sender));
	if (share)
		return share;
	share = kzalloc(sizeof(*share), GFP_KERNEL_ACCOUNT);
	if (!share)
		return ERR_PTR(-ENOMEM);
	share->uid = sender;
	share->user_share = user_share;
	if (!user_share) {
		share->pcpu = alloc_percpu_gfp(struct bus1_share_pcpu,
					       GFP_KERNEL_ACCOUNT);
		if (!share->pcpu) {
			kfree(share);
			return ERR_PTR(-ENOMEM);
		}
		for_each_possible_cpu(cpu)
			spin_lock_init(&per_cpu_ptr(share->pcpu, cpu)->lock);
	}
	old = xa_cmpxchg(&quota->shares, __kuid_val(sender), NULL, share,
			 GFP_KERNEL_ACCOUNT);
	if (old) {
		free_percpu(share->pcpu);
		kfree(share);
		return xa_is_err(old) ? ERR_PTR(xa_err(old)) : old;
	}
	return share;
}

/**
 * bus1_quota_prepare() - create the share records of a sender
 * @peer:	quota of the receiving peer
 * @user:	user of the receiving peer
 * @sender:	sending user
 *
 * Return: 0 on success, -ENOMEM on failure.
 */
int bus1_quota_prepare(struct bus1_quota *peer, struct bus1_user *user,
		       kuid_t sender)
{
	struct bus1_share *su, *sp;

	su = bus1_quota_prepare_one(&user->quota, sender, NULL);
	if (IS_ERR(su))
		return PTR_ERR(su);
	sp = bus1_quota_prepare_one(peer, sender, su);
	return PTR_ERR_OR_ZERO(sp);
}

static bool bus1_quota_fits(struct bus1_quota *quota, const u32 *charge)
{
	int i;

	for (i = 0; i < BUS1_RES_N; ++i)
		if (charge[i] && quota->used[i] + charge[i] > quota->max[i])
			return false;
	return true;
}

/*
 * The share rule (Documentation/bus1/quota.rst): with R what the receiving
 * user has left, S_u what the sender holds on that user and S_p what it
 * holds on the receiving peer, a charge c is allowed iff
 *
 *	S_u + c <= (R + S_u) / 2		(half of what is not used by
 *						 others, per user)
 *	S_p + c <= (A - (S_u - S_p)) / 2	(half of what the sender may
 *	with A = (R + S_u) / 2			 still use, per peer)
 *
 * computed without divisions to stay exact. The hard limits of the peer
 * and the user are checked in the same pass: this runs for every message.
 */
static bool bus1_quota_share_fits(struct bus1_quota *user, const s64 *u_used,
				  struct bus1_quota *peer, const s64 *su_used,
				  struct bus1_share *sp, const u32 *charge)
{
	s64 r, c, s_u, s_p;
	int i;

	for (i = 0; i < BUS1_RES_N; ++i) {
		if (!charge[i])
			continue;
		c = charge[i];
		if (peer->used[i] + c > peer->max[i])
			return false;
		r = (s64)user->max[i] - u_used[i];
		s_u = su_used[i];
		s_p = sp->used[i];
		/* implies the user's hard limit, c <= R */
		if (s_u + 2 * c > r)
			return false;
		if (4 * (s_p + c) > r + s_u - 2 * (s_u - s_p))
			return false;
	}
	return true;
}

/**
 * bus1_quota_charge() - charge resources to a peer and its user
 * @peer:	quota of the peer, caller holds the peer's data lock
 * @user:	user of the peer
 * @charge:	amount per resource
 *
 * Return: 0 on success, -EDQUOT if a limit of the peer or the user would be
 * exceeded (nothing is charged then).
 */
int bus1_quota_charge(struct bus1_quota *peer, struct bus1_user *user,
		      const u32 *charge)
{
	int r = 0;

	bus1_quota_assert_held(peer);
	if (!bus1_quota_fits(peer, charge))
		return -EDQUOT;
	spin_lock(&user->lock);
	if (!bus1_quota_fits(&user->quota, charge))
		bus1_user_fold(user);
	if (!bus1_quota_fits(&user->quota, charge)) {
		r = -EDQUOT;
	} else {
		write_seqcount_begin(&user->seq);
		bus1_res_add(user->quota.used, charge);
		write_seqcount_end(&user->seq);
		bus1_res_add(peer->used, charge);
	}
	spin_unlock(&user->lock);
	return r;
}

/* a consistent copy of what @user and the sender's share @su have used */
static void bus1_quota_snapshot(struct bus1_user *user, struct bus1_share *su,
				s64 *u_used, s64 *su_used)
{
	unsigned int seq;

	do {
		seq = read_seqcount_begin(&user->seq);
		memcpy(u_used, user->quota.used, BUS1_RES_N * sizeof(*u_used));
		memcpy(su_used, su->used, BUS1_RES_N * sizeof(*su_used));
	} while (read_seqcount_retry(&user->seq, seq));
}

/*
 * The fast path: a charge no larger than what this CPU settled for the
 * same sender takes that back, without the user's lock. The share rule is
 * checked against the user's and the share's used[] as read (one
 * consistent snapshot) minus what this CPU holds: both over-count the
 * exact figures, and the rule only gets stricter as they grow, so a
 * charge that passes here passes the exact rule. See quota.rst.
 */
static bool bus1_quota_charge_fast(struct bus1_quota *peer,
				   struct bus1_user *user,
				   struct bus1_share *su, struct bus1_share *sp,
				   const u32 *charge)
{
	s64 u_used[BUS1_RES_N], su_used[BUS1_RES_N], r, c, s_u, s_p;
	struct bus1_share_pcpu *pc;
	bool ok = false;
	int i;

	bus1_quota_snapshot(user, su, u_used, su_used);

	/* any CPU's part is correct under its lock, this one's is cheapest */
	pc = raw_cpu_ptr(su->pcpu);
	spin_lock(&pc->lock);
	/* the share rule of bus1_quota_share_fits(), on the figures above */
	for (i = 0; i < BUS1_RES_N; ++i) {
		c = charge[i];
		if (!c)
			continue;
		if (c > pc->user[i] || c > pc->share[i] ||
		    peer->used[i] + c > peer->max[i])
			goto out;
		r = (s64)user->quota.max[i] - (u_used[i] - (s64)pc->user[i]);
		s_u = su_used[i] - (s64)pc->share[i];
		s_p = sp->used[i];
		if (s_u + 2 * c > r || 4 * (s_p + c) > r - s_u + 2 * s_p)
			goto out;
	}
	bus1_res_sub(pc->user, charge);
	bus1_res_sub(pc->share, charge);
	ok = true;
out:
	spin_unlock(&pc->lock);
	return ok;
}

static bool bus1_quota_share_fits_locked(struct bus1_quota *peer,
					 struct bus1_user *user,
					 struct bus1_share *su,
					 struct bus1_share *sp,
					 const u32 *charge)
{
	s64 u_used[BUS1_RES_N], su_used[BUS1_RES_N];
	int i;

	lockdep_assert_held(&user->lock);
	for (i = 0; i < BUS1_RES_N; ++i) {
		u_used[i] = user->quota.used[i];
		su_used[i] = su->used[i];
	}
	return bus1_quota_share_fits(&user->quota, u_used, peer, su_used, sp,
				     charge);
}

/* the sender's share on a peer, or NULL if it is not prepared yet */
static struct bus1_share *bus1_quota_peer_share(struct bus1_quota *peer,
						kuid_t sender)
{
	struct bus1_share *sp = peer->last_share;

	if (!sp || !uid_eq(sp->uid, sender)) {
		sp = xa_load(&peer->shares, __kuid_val(sender));
		if (sp)
			peer->last_share = sp;
	}
	return sp;
}

/**
 * bus1_quota_charge_shared() - charge a message to its receiver
 * @peer:	quota of the receiving peer, its data lock held
 * @user:	user of the receiving peer
 * @sender:	sending user
 * @charge:	amount per resource
 * @sharep:	set to the sender's share on @peer, to be passed to
 *		bus1_quota_settle()
 *
 * On top of the hard limits the sender's share on @user and @peer is
 * checked and raised.
 *
 * Return: 0 on success, -EDQUOT if a limit or a share would be exceeded,
 * -ENOENT if the share records of @sender are not prepared yet.
 */
int bus1_quota_charge_shared(struct bus1_quota *peer, struct bus1_user *user,
			     kuid_t sender, const u32 *charge,
			     struct bus1_share **sharep)
{
	struct bus1_share *sp, *su;
	int r = 0;

	bus1_quota_assert_held(peer);
	sp = bus1_quota_peer_share(peer, sender);
	if (!sp)
		return -ENOENT;
	su = sp->user_share;

	if (bus1_quota_charge_fast(peer, user, su, sp, charge))
		goto charged;

	/* near a limit, or nothing settled here to take back: exactly */
	spin_lock(&user->lock);
	if (!bus1_quota_share_fits_locked(peer, user, su, sp, charge)) {
		bus1_user_fold(user);
		if (!bus1_quota_share_fits_locked(peer, user, su, sp, charge))
			r = -EDQUOT;
	}
	if (!r) {
		write_seqcount_begin(&user->seq);
		bus1_res_add(user->quota.used, charge);
		bus1_res_add(su->used, charge);
		write_seqcount_end(&user->seq);
	}
	spin_unlock(&user->lock);
	if (r)
		return r;

charged:
	bus1_res_add(peer->used, charge);
	bus1_res_add(sp->used, charge);
	*sharep = sp;
	return 0;
}

/*
 * The per-user rule for @n messages of @charge each, on figures @u_used
 * and @su_used of the user and of the sender's share on it (exact or
 * over-counted), and what is left for the per-peer rule once they are
 * charged. The rule for the last of @n sequential charges implies the
 * rule for each one before it: S_u + k * c <= (R + S_u) / 2 only gets
 * harder as k grows, since R + S_u does not change.
 */
static bool bus1_quota_resv_fits(struct bus1_quota_resv *resv,
				 struct bus1_user *user, const s64 *u_used,
				 const s64 *su_used)
{
	s64 r, c, s_u;
	int i;

	for (i = 0; i < BUS1_RES_N; ++i) {
		c = (s64)resv->n * resv->charge[i];
		r = (s64)user->quota.max[i] - u_used[i];
		s_u = su_used[i];
		/* implies the user's hard limit, c <= R */
		if (c && s_u + 2 * c > r)
			return false;
		resv->room[i] = (r - c) - (s_u + c);
	}
	return true;
}

static void bus1_quota_resv_mul(u64 *total, const u32 *charge, unsigned int n)
{
	int i;

	for (i = 0; i < BUS1_RES_N; ++i)
		total[i] = (u64)n * charge[i];
}

/**
 * bus1_quota_reserve() - charge a user for several messages at once
 * @resv:	reservation to set up, empty
 * @user:	receiving user
 * @su:		the sender's share on @user
 * @charge:	amount per resource of one message
 * @n:		number of messages, at least 1
 *
 * Charges @n messages to @user and @su as the per-user rule allows, the
 * way bus1_quota_charge_shared() charges one: from what this CPU settled
 * for the sender if that suffices, else under the user's lock. A
 * reservation that does not fit is simply not taken (no fold): the
 * messages are then charged one by one, exactly.
 *
 * Return: true if @resv now holds @n messages' worth of charges.
 */
bool bus1_quota_reserve(struct bus1_quota_resv *resv, struct bus1_user *user,
			struct bus1_share *su, const u32 *charge,
			unsigned int n)
{
	s64 u_used[BUS1_RES_N], su_used[BUS1_RES_N];
	u64 total[BUS1_RES_N];
	struct bus1_share_pcpu *pc;
	bool ok = true;
	int i;

	resv->user = user;
	resv->share = su;
	memcpy(resv->charge, charge, sizeof(resv->charge));
	resv->n = n;
	bus1_quota_resv_mul(total, charge, n);

	bus1_quota_snapshot(user, su, u_used, su_used);

	/* the fast path of bus1_quota_charge_fast(), for n messages */
	pc = raw_cpu_ptr(su->pcpu);
	spin_lock(&pc->lock);
	for (i = 0; i < BUS1_RES_N && ok; ++i) {
		ok = total[i] <= pc->user[i] && total[i] <= pc->share[i];
		u_used[i] -= pc->user[i];
		su_used[i] -= pc->share[i];
	}
	if (ok && bus1_quota_resv_fits(resv, user, u_used, su_used)) {
		for (i = 0; i < BUS1_RES_N; ++i) {
			pc->user[i] -= total[i];
			pc->share[i] -= total[i];
		}
		spin_unlock(&pc->lock);
		return true;
	}
	spin_unlock(&pc->lock);

	spin_lock(&user->lock);
	for (i = 0; i < BUS1_RES_N; ++i) {
		u_used[i] = user->quota.used[i];
		su_used[i] = su->used[i];
	}
	ok = bus1_quota_resv_fits(resv, user, u_used, su_used);
	if (ok) {
		write_seqcount_begin(&user->seq);
		for (i = 0; i < BUS1_RES_N; ++i) {
			user->quota.used[i] += total[i];
			su->used[i] += total[i];
		}
		write_seqcount_end(&user->seq);
	}
	spin_unlock(&user->lock);
	if (!ok)
		resv->n = 0;
	return ok;
}

/**
 * bus1_quota_charge_reserved() - charge a message from a reservation
 * @peer:	quota of the receiving peer, its data lock held; its user is
 *		the user of @resv
 * @resv:	reservation that covers at least one message
 * @sender:	sending user
 * @sharep:	set to the sender's share on @peer, for bus1_quota_settle()
 *
 * Takes one message's worth out of @resv and charges the peer, after the
 * peer's hard limits and the per-peer rule. The rule is checked against
 * the user's figures with the whole reservation counted, which is at
 * least what an exact charge of this message would see: a charge that
 * passes here passes the exact rule. One that does not pass here may pass
 * the exact rule, so the caller then returns the reservation and charges
 * exactly.
 *
 * Return: 0 on success, -ENOENT if the sender's share on @peer is not
 * prepared yet, -EAGAIN if the message needs an exact charge.
 */
int bus1_quota_charge_reserved(struct bus1_quota *peer,
			       struct bus1_quota_resv *resv, kuid_t sender,
			       struct bus1_share **sharep)
{
	const u32 *charge = resv->charge;
	struct bus1_share *sp;
	s64 c, s_p;
	int i;

	bus1_quota_assert_held(peer);
	sp = bus1_quota_peer_share(peer, sender);
	if (!sp)
		return -ENOENT;
	for (i = 0; i < BUS1_RES_N; ++i) {
		c = charge[i];
		if (!c)
			continue;
		s_p = sp->used[i];
		if (peer->used[i] + c > peer->max[i] ||
		    4 * (s_p + c) > resv->room[i] + 2 * s_p)
			return -EAGAIN;
	}
	bus1_res_add(peer->used, charge);
	bus1_res_add(sp->used, charge);
	--resv->n;
	*sharep = sp;
	return 0;
}

/**
 * bus1_quota_unreserve() - return what a reservation still holds
 * @resv:	reservation, possibly empty
 *
 * Returned like a settle, to this CPU's part of the share (struct
 * bus1_share_pcpu): the user's figures over-count it until the next
 * charge here takes it back or a fold returns it.
 */
void bus1_quota_unreserve(struct bus1_quota_resv *resv)
{
	struct bus1_share_pcpu *pc;
	u64 total[BUS1_RES_N];
	int i;

	if (!resv->n)
		return;
	bus1_quota_resv_mul(total, resv->charge, resv->n);
	pc = raw_cpu_ptr(resv->share->pcpu);
	spin_lock(&pc->lock);
	for (i = 0; i < BUS1_RES_N; ++i) {
		pc->user[i] += total[i];
		pc->share[i] += total[i];
	}
	spin_unlock(&pc->lock);
	resv->n = 0;
}

/**
 * bus1_quota_settle_user() - return charges to a user, for a charge without
 *			      a share
 * @user:	user of the receiving peer
 * @discharge:	amount per resource to return to @user
 *
 * The out-of-line half of bus1_quota_settle(): without a share there is no
 * per-CPU settling, so the user's counters are updated under its lock.
 */
void bus1_quota_settle_user(struct bus1_user *user, const u32 *discharge)
{
	spin_lock(&user->lock);
	write_seqcount_begin(&user->seq);
	bus1_res_sub(user->quota.used, discharge);
	write_seqcount_end(&user->seq);
	spin_unlock(&user->lock);
}

/**
 * bus1_quota_discharge() - return resources charged to a peer and its user
 * @peer:	quota of the peer, caller holds the peer's data lock
 * @user:	user of the peer
 * @charge:	amount per resource
 */
void bus1_quota_discharge(struct bus1_quota *peer, struct bus1_user *user,
			  const u32 *charge)
{
	int i;

	bus1_quota_assert_held(peer);
	spin_lock(&user->lock);
	write_seqcount_begin(&user->seq);
	for (i = 0; i < BUS1_RES_N; ++i) {
		WARN_ON(user->quota.used[i] < charge[i] ||
			peer->used[i] < charge[i]);
		user->quota.used[i] -= charge[i];
		peer->used[i] -= charge[i];
	}
	write_seqcount_end(&user->seq);
	spin_unlock(&user->lock);
}

/**
 * bus1_users_exit() - tear down the user table at module unload
 */
void bus1_users_exit(void)
{
	WARN_ON(!xa_empty(&bus1_users));
	xa_destroy(&bus1_users);
}
