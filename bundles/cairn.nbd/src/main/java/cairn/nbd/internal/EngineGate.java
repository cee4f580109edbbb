package cairn.nbd.internal;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The current provider of a service that may leave and come back (an engine restart or
 * upgrade). Callers wait, up to a bound, for it to return instead of failing at once.
 */
final class EngineGate<S> {

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ServerState state;
    private S current;

    EngineGate(ServerState state) {
        this.state = state;
    }

    void bind(S service) {
        lock.lock();
        try {
            current = service;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Clears the provider only if it is still the one leaving (a greedy rebind may already have replaced it). */
    void unbind(S service) {
        lock.lock();
        try {
            if (current == service) {
                current = null;
            }
        } finally {
            lock.unlock();
        }
    }

    boolean stopping() {
        return state.stopping();
    }

    /** Wakes waiters so they notice the server stopping. */
    void wake() {
        lock.lock();
        try {
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    S current() {
        lock.lock();
        try {
            return current;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The provider, waiting until {@code deadlineNanos} (System.nanoTime) for one. With
     * {@code backoff} (the provider just failed and may not have left yet) it first waits a
     * short while, or until a provider binds. Null when none came in time or the server stops.
     */
    S await(long deadlineNanos, boolean backoff) throws InterruptedException {
        lock.lock();
        try {
            if (backoff) {
                long pause = Math.min(deadlineNanos - System.nanoTime(), TimeUnit.MILLISECONDS.toNanos(100));
                if (pause > 0) {
                    changed.await(pause, TimeUnit.NANOSECONDS);
                }
            }
            while (current == null) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0 || state.stopping()) {
                    return null;
                }
                changed.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)), TimeUnit.NANOSECONDS);
            }
            return state.stopping() ? null : current;
        } finally {
            lock.unlock();
        }
    }
}
