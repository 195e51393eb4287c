/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bus1 global ordering protocol (spec section 6.2) - Promela model.
 * See README in this directory and Documentation/bus1/ordering.rst.
 *
 * Three peers P0..P2. Each peer has one queue: a Lamport clock and entries
 * keyed (ts, tag, entry id). Concurrent actors:
 *   - sender(o):   peer o sends NMSG (sender 0: NMSG0) transactions one
 *                  after the other, each to a nondeterministically chosen
 *                  set of >= 2 of the three peers (SINGLE: >= 1; FULLDST:
 *                  all three); o itself may be one of them. Each step of
 *                  the stage round, the commit timestamp, the sync round and
 *                  the commit round is one atomic step under ONE queue lock,
 *                  as in ipc/bus1/tx.c; everything else interleaves freely
 *                  between the steps. (tx.c stages and commits a run of
 *                  entries on one queue under one lock hold and syncs the
 *                  queue it commits first in that commit step, after all
 *                  other syncs: both only remove interleavings. Its order
 *                  of the queues depends on the run lengths: ANYORDER.) DIRECT: a SEND may also go to exactly
 *                  one peer q (q == o allowed) by the unicast path of
 *                  bus1_tx_commit_unicast(): one step under q's lock,
 *                  T = tick(q); insert the entry committed as (T, o); then
 *                  the ioctl returns. o's clock is neither read nor
 *                  written.
 *   - releaser(i): NODE_RELEASE number i, committed directly into queue i
 *                  (RELANY: into any queue) with a tick of its clock, at
 *                  any moment.
 *   - receivers, in one of two forms:
 *       REALRECV   receiver(r) processes dequeue from P_r's queue whenever
 *                  its head is committed, interleaved with everything;
 *       default    eager receivers: whenever a step makes the head of a
 *                  queue committed, that same atomic step dequeues it (and
 *                  every committed entry behind it, up to the first staging
 *                  one). Dequeuing changes no clock and nothing a sender
 *                  reads, so the senders behave the same for every receiver
 *                  schedule; the eager receiver dequeues every entry at the
 *                  earliest possible moment, so it has dequeued an entry
 *                  whenever any receiver could have. Any violation of G1-G4
 *                  possible with some receiver schedule is therefore also
 *                  found with eager receivers (argument in the README).
 *                  This removes the receivers' interleavings and makes the
 *                  bigger configurations tractable.
 *
 * Checked with assert(), over all interleavings (the constant in front of
 * each assertion names it in spin's error message):
 *   G3  a queue never yields an entry ordered before one it already yielded,
 *       and no entry ordered before a yielded one is committed later;
 *   G4  no two receivers dequeue two transactions in opposite orders;
 *   G1  a transaction committed (commit round finished, ioctl returned)
 *       before another one started is dequeued first by every common
 *       receiver;
 *   G2  a transaction dequeued anywhere before another one started is
 *       dequeued first by every common receiver;
 *   DELIVERY  every entry is dequeued exactly at its destinations;
 *   I2, I3, I4  unless NOINV, the internal invariants of the design
 *             note: I2 T above the staging timestamps, I3 destination clock
 *             >= T at commit, I4 no two transactions share (T, tag) on one
 *             queue;
 *   and spin's invalid-end-state check: no actor stays blocked forever.
 *
 * Compile-time switches (spin -DNAME=VALUE):
 *   NMSG=n      SENDs per sender (default 1)
 *   NMSG0=n     SENDs of sender 0 (default NMSG)
 *   NREL=n      NODE_RELEASEs, 0..3 (default 0)
 *   RELANY      each NODE_RELEASE goes to any queue, not to queue i
 *   SINGLE      single-destination SENDs too (no sync round, tx.c fast path;
 *               the kernel still uses it for one-holder NODE_DESTROY batches)
 *   DIRECT      unicast SENDs too, committed without staging (tx.c
 *               bus1_tx_commit_unicast(), see above)
 *   FULLDST     every SEND goes to all three peers
 *   ANYORDER    the rounds visit destinations in any order, not ascending
 *   REALRECV    explicit, interleaved receiver processes
 *   NOINV       do not assert the internal invariants I2/I3
 *   BROKEN=n    a deliberately broken protocol that spin must reject:
 *     1  no sync round (step 3 skipped; the commit step still syncs its own
 *        queue, as tx.c does)
 *     2  commit timestamp taken without sync(O, t): T is not necessarily
 *        above the staging timestamps
 *     3  a staging head does not block committed entries behind it
 *     4  equal commit timestamps ordered by a per-queue tie-break instead of
 *        the global tag
 *     5  (with DIRECT) the unicast keys its entry at T = clock of q + 2
 *        but does not store the tick in q's clock: the entry is keyed
 *        above the clock, and q's clock stays below it
 *
 * Clocks are exact, not abstracted: a run has at most NTX <= 15 ticks of 2,
 * so every clock and timestamp stays below 32 and fits a byte.
 */

#define NPEER		3
#ifndef NMSG
#define NMSG		1	/* SENDs of senders 1 and 2 */
#endif
#ifndef NMSG0
#define NMSG0		NMSG	/* SENDs of sender 0 */
#endif
#ifndef NREL
#define NREL		0	/* NODE_RELEASEs */
#endif
#ifndef BROKEN
#define BROKEN		0
#endif

#if NMSG0 > NMSG
#define NMAX		NMSG0
#else
#define NMAX		NMSG
#endif
#define NM(o)		((o) == 0 -> NMSG0 : NMSG)

/* transaction ids: o * NMAX + m is sender o's m-th SEND, NSEND + i the i-th
 * NODE_RELEASE */
#define NSEND		(NPEER * NMAX)
#define NTX		(NSEND + NREL)
#define NWRITERS	(NPEER + NREL)
#define NONE		255

#if NTX > 15
#error "transaction masks are shorts"
#endif

#define BIT(x)		(1 << (x))
/* tie-break tag: the peer whose clock issued the commit timestamp */
#define TAG(x)		tag[x]
/* entry of transaction x on queue q: 0 none, odd staging, even committed */
#define TS(q, x)	ts[(q) * NTX + (x)]
#define COMMITTED(q, x)	(TS(q, x) != 0 && TS(q, x) % 2 == 0)

#if BROKEN == 4
#define TIE(q, a, b)	(((q) & 1) -> ((a) > (b)) : ((a) < (b)))
#else
/* the tag, then the entry id (only matters within one transaction) */
#define TIE(q, a, b)	(TAG(a) < TAG(b) || (TAG(a) == TAG(b) && (a) < (b)))
#endif
/* order of queue q: (t1, a) before (t2, b) */
#define ORD(q, t1, a, t2, b)	((t1) < (t2) || ((t1) == (t2) && TIE(q, a, b)))

byte clk[NPEER];		/* Lamport clock per queue */
byte ts[NPEER * NTX];		/* queue entries */
byte lastT[NPEER];		/* key of the last dequeued entry per queue, */
byte lastX[NPEER];		/* (0, 0) before the first one */
short deq[NPEER];		/* transactions dequeued per queue */
short before[NTX];		/* bit b of before[a]: some receiver dequeued
				 * a, later b */
byte dst[NTX];			/* destination mask per transaction */
byte tag[NTX];			/* tie-break tag per transaction */
short cmask;			/* transactions whose commit round finished */
short hb1[NTX];			/* cmask when the transaction started */
short hb2[NTX];			/* dequeued-anywhere set when it started */
byte wdone;			/* finished senders and releasers */
#define DEQUEUED	(deq[0] | deq[1] | deq[2])
/* some queue in mask m still has to dequeue transaction a */
#define PENDING(a, m)	((((m) & dst[a] & BIT(0)) && !(deq[0] & BIT(a))) || \
			 (((m) & dst[a] & BIT(1)) && !(deq[1] & BIT(a))) || \
			 (((m) & dst[a] & BIT(2)) && !(deq[2] & BIT(a))))

#ifdef REALRECV
byte head[NPEER];		/* smallest entry, NONE if empty */
bool rdy[NPEER];		/* head is committed: the "readable" flag */
byte rdone;			/* finished receivers */
#else
/* recomputed by every step before use: not part of the state vector */
hidden byte head[NPEER];
hidden byte rdy[NPEER];
#endif

/* scratch, only used inside d_step: not part of the state vector */
hidden byte hk, hh, ha, hr;

/* constant 1, only there to name the property in spin's error message */
hidden byte G1 = 1, G2 = 1, G3 = 1, G4 = 1, I2 = 1, I3 = 1, I4 = 1;
hidden byte DELIVERY = 1;

/* recompute the head and the readable flag of q, under q's lock */
inline update_queue(q)
{
	hh = NONE;
	for (hk : 0 .. NTX - 1) {
		if
#if BROKEN == 3
		:: COMMITTED(q, hk) &&
#else
		:: TS(q, hk) != 0 &&
#endif
		   (hh == NONE || ORD(q, TS(q, hk), hk, TS(q, hh), hh)) ->
			hh = hk
		:: else
		fi
	}
	head[q] = hh;
	rdy[q] = (hh != NONE && COMMITTED(q, hh));
	hh = 0;
	hk = 0
}

/* RECV: dequeue the (committed) head of r, log it and check G1-G4 */
inline dequeue(r)
{
	hh = head[r];
	printf("q%d: dequeue tx%d, key (%d, %d)\n", r, hh, TS(r, hh),
	       TAG(hh));
	/* G3: strictly after the previously dequeued entry */
	assert(G3 && ORD(r, lastT[r], lastX[r], TS(r, hh), hh));
	lastT[r] = TS(r, hh);
	lastX[r] = hh;
	for (ha : 0 .. NTX - 1) {
		/*
		 * whatever was committed (G1), or dequeued anywhere (G2),
		 * before hh started and was also sent to r has already been
		 * dequeued here
		 */
		if
		:: (dst[ha] & BIT(r)) && (hb1[hh] & BIT(ha)) ->
			assert(G1 && (deq[r] & BIT(ha)))
		:: else
		fi;
		if
		:: (dst[ha] & BIT(r)) && (hb2[hh] & BIT(ha)) ->
			assert(G2 && (deq[r] & BIT(ha)))
		:: else
		fi;
		/* G4: no receiver dequeued hh before something r has got */
		if
		:: deq[r] & BIT(ha) ->
			assert(G4 && (before[hh] & BIT(ha)) == 0);
			before[ha] = before[ha] | BIT(hh)
		:: else
		fi
	}
	deq[r] = deq[r] | BIT(hh);
	/*
	 * Forget what was checked: hh's own snapshot once it is dequeued
	 * everywhere; and hh in the snapshots of B once hh is dequeued at all
	 * common destinations of hh and B (B still has to come there, so it
	 * will come after hh; had it come before, G1/G2 fired then). This
	 * keeps the ghost state canonical.
	 */
	if
	:: !PENDING(hh, 7) ->
		hb1[hh] = 0;
		hb2[hh] = 0
	:: else
	fi;
	for (ha : 0 .. NTX - 1) {
		if
		:: ((hb1[ha] | hb2[ha]) & BIT(hh)) && !PENDING(hh, dst[ha]) ->
			hb1[ha] = hb1[ha] & ~BIT(hh);
			hb2[ha] = hb2[ha] & ~BIT(hh)
		:: else
		fi
	}
	TS(r, hh) = 0;
	ha = 0;
	hk = 0;
	hh = 0
}

/*
 * Entry x gets key (k, TAG(x)) on q, where it becomes committed: G3, nothing
 * ordered before the last dequeued entry appears; I4, no other transaction
 * has the same (ts, tag) on q. Entries dequeued before the last one have
 * keys below it (G3), so it is enough to look at the last one and at the
 * committed entries still queued.
 */
inline check_insert(q, k, x)
{
	assert(G3 && ORD(q, lastT[q], lastX[q], k, x));
#ifndef NOINV
	assert(I4 && !(lastT[q] == k && TAG(lastX[q]) == TAG(x) &&
		       lastX[q] != x));
	for (ha : 0 .. NTX - 1) {
		assert(I4 && !(ha != x && TS(q, ha) == k && TAG(ha) == TAG(x)))
	}
	ha = 0
#endif
}

/*
 * Transaction x starts: remember which transactions were committed (G1) or
 * dequeued somewhere (G2) before, as far as they still have to be dequeued
 * at a common destination (the others are trivially ordered before x).
 */
inline snapshot(x)
{
	hb1[x] = 0;
	hb2[x] = 0;
	for (ha : 0 .. NTX - 1) {
		if
		:: PENDING(ha, dst[x]) ->
			hb1[x] = hb1[x] | (cmask & BIT(ha));
			hb2[x] = hb2[x] | (DEQUEUED & BIT(ha))
		:: else
		fi
	}
	ha = 0
}

/* a step changed queue q: update it, eager receivers dequeue what they can */
inline queue_changed(q)
{
#ifdef REALRECV
	update_queue(q)
#else
	do
	:: update_queue(q);
		if
		:: rdy[q] -> dequeue(q)
		:: else -> break
		fi
	od;
	skip
#endif
}

/* more than one destination */
#define MULTI(m)	(((m) & ((m) - 1)) != 0)

#ifdef ANYORDER
#define NEXT(q)		(todo & BIT(q))
#else
#define NEXT(q)		((todo & BIT(q)) && (todo & (BIT(q) - 1)) == 0)
#endif

/* sender phases */
#define START		0
#define STAGE		1
#define SYNC		2
#define COMMIT		3
#define DONE		4

/* (1) t = stage(q, e, t): sync(q, t); insert e with ts = clock + 1 */
inline do_stage(q)
{
	if
	:: clk[q] < t -> clk[q] = t
	:: else
	fi;
	TS(q, tx) = clk[q] + 1;
	t = clk[q];
	printf("S%d tx%d: stage on q%d, ts %d\n", o, tx, q, TS(q, tx));
	todo = todo & ~BIT(q);
	queue_changed(q)
}

/*
 * The ioctl starts: pick the destinations, remember what happened before
 * (for G1/G2). This is merged with the first stage step:
 * what the ioctl does before it takes the first queue lock is invisible to
 * everybody else, so a start any earlier is equivalent, and G1/G2 then only
 * get a larger set of transactions that must be ordered before this one.
 */
inline start(mask, first)
{
	d_step {
		ph == START ->
		tx = o * NMAX + m;
		d = mask;
		dst[tx] = d;
		printf("S%d tx%d: start, destinations 0x%x\n", o, tx, d);
		snapshot(tx);
		todo = d;
		do_stage(first);
		ph = STAGE
	}
}

inline stage(q)
{
	d_step {
		ph == STAGE && NEXT(q) ->
		do_stage(q)
	}
}

/* (2) under O's lock: sync(O, t); T = tick(O); the transaction is sealed */
inline commit_ts()
{
	d_step {
		ph == STAGE && todo == 0 ->
#if BROKEN != 2
		if
		:: clk[o] < t -> clk[o] = t
		:: else
		fi;
#endif
		clk[o] = clk[o] + 2;
		T = clk[o];
		printf("S%d tx%d: commit timestamp %d\n", o, tx, T);
		t = 0;
		todo = d;
#if BROKEN == 1
		ph = COMMIT
#else
		/* a single destination syncs in its commit step */
		if
		:: MULTI(d) -> ph = SYNC
		:: else -> ph = COMMIT
		fi
#endif
	}
}

/* (3) sync(q, T) */
inline sync_round(q)
{
	d_step {
		ph == SYNC && NEXT(q) ->
		if
		:: clk[q] < T -> clk[q] = T
		:: else
		fi;
		printf("S%d tx%d: sync q%d to %d\n", o, tx, q, T);
		todo = todo & ~BIT(q);
		if
		:: todo == 0 ->
			todo = d;
			ph = COMMIT
		:: else
		fi
	}
}

/* the ioctl returns (G1: committed from now on); on to the next SEND */
inline finish()
{
	cmask = cmask | BIT(tx);
	d = 0;
	T = 0;
	tx = 0;
	m++;
	if
	:: m == NM(o) ->
		m = 0;
		wdone++;
		ph = DONE
	:: else ->
		ph = START
	fi
}

/*
 * (4) sync(q, T); commit_staged(q, e, T): re-key e to (T, origin). The sync
 * is redundant after a sync round, and makes one for a single destination
 * (as in ipc/bus1/tx.c). After the last one the ioctl returns.
 */
inline commit(q)
{
	d_step {
		ph == COMMIT && NEXT(q) ->
#ifndef NOINV
		/* I3: the sync round brought q's clock up to T before */
		assert(I3 && (!MULTI(d) || T <= clk[q]));
		/* I2: T is above the entry's staging timestamp */
		assert(I2 && T > TS(q, tx));
#endif
		if
		:: clk[q] < T -> clk[q] = T
		:: else
		fi;
		/* G3: nothing ordered before a dequeued entry appears later */
		check_insert(q, T, tx);
		TS(q, tx) = T;
		printf("S%d tx%d: commit on q%d, key (%d, %d)\n", o, tx, q, T,
		       TAG(tx));
		todo = todo & ~BIT(q);
		queue_changed(q);
		if
		:: todo == 0 -> finish()
		:: else
		fi
	}
}

#ifdef DIRECT
/*
 * Unicast to q, bus1_tx_commit_unicast(), one step under q's lock:
 * T = tick(q); insert the entry committed with key (T, o); the ioctl
 * returns. The start of the ioctl is merged with it for the same reason as
 * in start(): before it takes q's lock the ioctl does nothing anybody else
 * can see, so a start any earlier is equivalent, and G1/G2 then only get a
 * larger set of transactions that must be ordered before this one. The
 * return is merged too: the entry is visible from then on, and an earlier
 * return only enlarges the G1 premise of what starts afterwards.
 */
inline direct(q)
{
	d_step {
		ph == START ->
		tx = o * NMAX + m;
		d = BIT(q);
		dst[tx] = d;
		printf("S%d tx%d: start, unicast to q%d\n", o, tx, q);
		snapshot(tx);
#if BROKEN == 5
		T = clk[q] + 2;
#else
		clk[q] = clk[q] + 2;
		T = clk[q];
#endif
		check_insert(q, T, tx);
		TS(q, tx) = T;
		printf("S%d tx%d: unicast on q%d, key (%d, %d)\n", o, tx, q, T,
		       TAG(tx));
		queue_changed(q);
		finish()
	}
}
#endif

proctype sender(byte o)
{
	byte m, tx, d, todo, t, T, ph;

	do
#ifdef FULLDST
	:: start(7, 0)
#ifdef ANYORDER
	:: start(7, 1)
	:: start(7, 2)
#endif
#else
	:: start(3, 0)
	:: start(5, 0)
	:: start(6, 1)
	:: start(7, 0)
#ifdef ANYORDER
	:: start(3, 1)
	:: start(5, 2)
	:: start(6, 2)
	:: start(7, 1)
	:: start(7, 2)
#endif
#endif
#ifdef SINGLE
	:: start(1, 0)
	:: start(2, 1)
	:: start(4, 2)
#endif
#ifdef DIRECT
	:: direct(0)
	:: direct(1)
	:: direct(2)
#endif
	:: stage(0)
	:: stage(1)
	:: stage(2)
	:: commit_ts()
	:: sync_round(0)
	:: sync_round(1)
	:: sync_round(2)
	:: commit(0)
	:: commit(1)
	:: commit(2)
	:: ph == DONE -> break
	od
}

#if NREL
/* commit_direct(q, e) for the i-th NODE_RELEASE: ts = tick(q), tag = q */
inline release(ri, rq)
{
	d_step {
		dst[NSEND + ri] = BIT(rq);
		tag[NSEND + ri] = rq;
		snapshot(NSEND + ri);
		clk[rq] = clk[rq] + 2;
		check_insert(rq, clk[rq], NSEND + ri);
		TS(rq, NSEND + ri) = clk[rq];
		printf("tx%d: NODE_RELEASE on q%d, key (%d, %d)\n", NSEND + ri,
		       rq, clk[rq], rq);
		cmask = cmask | BIT(NSEND + ri);
		queue_changed(rq);
		wdone++
	}
}

/* the i-th NODE_RELEASE goes to queue i (RELANY: to any queue) */
proctype releaser(byte i)
{
#ifdef RELANY
	if
	:: release(i, 0)
	:: release(i, 1)
	:: release(i, 2)
	fi
#else
	release(i, i)
#endif
}
#endif

#ifdef REALRECV
proctype receiver(byte r)
{
	do
	:: d_step {
		rdy[r] ->
		dequeue(r);
		update_queue(r)
	   }
	:: d_step { wdone == NWRITERS && head[r] == NONE -> rdone++ }
		break
	od
}
#endif

init {
	atomic {
		for (hk : 0 .. NPEER - 1) {
			head[hk] = NONE
		}
		hk = 0;
#ifdef REALRECV
		run receiver(0);
		run receiver(1);
		run receiver(2);
#endif
		for (ha : 0 .. NSEND - 1) {
			tag[ha] = ha / NMAX
		}
		ha = 0;
		run sender(0);
		run sender(1);
		run sender(2);
#if NREL > 0
		run releaser(0);
#endif
#if NREL > 1
		run releaser(1);
#endif
#if NREL > 2
		run releaser(2);
#endif
	}

	/* everything done: each entry was dequeued exactly at its destinations */
	d_step {
#ifdef REALRECV
		rdone == NPEER ->
#else
		wdone == NWRITERS ->
#endif
		for (ha : 0 .. NTX - 1) {
			for (hr : 0 .. NPEER - 1) {
				assert(DELIVERY && ((deq[hr] & BIT(ha)) != 0) ==
				       ((dst[ha] & BIT(hr)) != 0))
			}
		}
		ha = 0;
		hr = 0
	}
}
