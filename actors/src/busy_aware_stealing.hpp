// The scheduler of nodes (configure_node loads it): CAF 0.17's work stealing, with one change to
// how an idle worker sleeps.
//
// A job that an actor makes runnable (a message to an idle actor) goes to the queue of the worker
// that runs the sender, and nobody wakes a sleeping worker for it: while the sender runs on (a
// requester that sends a million loads, a replica that merges a big delta), the job waits in that
// queue although another core is idle, until the sender's job ends or a sleeping worker's timeout
// (relaxed-sleep-duration, 1 s for nodes) lets it steal. CAF's default answer is polling: every
// worker polls for 25 ms after each job (500 times with a 50 us sleep each), which makes an idle
// or lightly loaded node pay for wake-ups it rarely uses (configure_node turns it off).
//
// Here a worker that runs out of work naps (100 us) before it sleeps. After a nap in which another
// worker stayed in one job, it steals from that worker; while the others run job after job (a
// request and its answer going back and forth on one core: those two are better left together),
// it naps again, each nap twice as long, up to the relaxed sleep; when nobody ran anything, it
// sleeps the relaxed sleep at once. A job that a running actor queues while a sibling sleeps the
// relaxed sleep wakes that sibling to nap. So a job stuck behind a long one reaches an idle core
// within a nap or two, a long job or a busy pair costs a sleeper about a dozen wake-ups a second,
// and an idle node costs one nap after its last job more than it did.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace grove::actors::detail {

class busy_aware_stealing : public caf::policy::work_stealing {
public:
  /// A worker's first nap when it ran out of work, or when a nudge woke it.
  static constexpr std::chrono::microseconds first_nap{100};

  struct worker_data : caf::policy::work_stealing::worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator* p) : caf::policy::work_stealing::worker_data(p) {}
    worker_data(const worker_data& other) : caf::policy::work_stealing::worker_data(other) {}
    // Whether the worker runs a job, and how many it started (read by the other workers when they
    // go to sleep and when they wake).
    std::atomic<bool> running{false};
    std::atomic<std::uint64_t> started{0};
    // Whether it sleeps the relaxed sleep (not a nap): a worker that queues a job wakes it.
    std::atomic<bool> sound_asleep{false};
    // Set (under waitdata.lock) by a worker that queued a job, to wake this one to nap.
    bool nudged = false;
  };

  template <class Worker>
  void before_resume(Worker* self, caf::resumable*) {
    auto& data = self->data();
    data.started.store(data.started.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    data.running.store(true, std::memory_order_relaxed);
  }

  template <class Worker>
  void after_resume(Worker* self, caf::resumable*) {
    self->data().running.store(false, std::memory_order_relaxed);
  }

  // A job that the running job made runnable: first in this worker's queue (as in work_stealing),
  // and a worker sound asleep wakes to nap, and steals it if this one stays in its job.
  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    self->data().queue.prepend(job);
    auto* parent = self->parent();
    for (size_t id = 0; id < parent->num_workers(); ++id) {
      auto& other = parent->worker_by_id(id)->data();
      if (id == self->id() || !other.sound_asleep.load(std::memory_order_relaxed)) continue;
      std::lock_guard<std::mutex> guard(other.waitdata.lock);
      other.sound_asleep.store(false, std::memory_order_relaxed);  // one nudge is enough
      other.nudged = true;
      other.waitdata.cv.notify_one();
      return;
    }
  }

  // work_stealing::dequeue (the same polling first), but it naps before it sleeps (see the top of
  // this file), and a nudge ends its sleep.
  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& data = self->data();
    auto& strategies = data.strategies;
    caf::resumable* job = nullptr;
    for (size_t k = 0; k < 2; ++k) {
      for (size_t i = 0; i < strategies[k].attempts; i += strategies[k].step_size) {
        if ((job = data.queue.take_head())) return job;
        if (i % strategies[k].steal_interval == 0 && (job = try_steal(self))) return job;
        if (strategies[k].sleep_duration.count() > 0) std::this_thread::sleep_for(strategies[k].sleep_duration);
      }
    }
    auto& relaxed = strategies[2];
    auto& wait = data.waitdata;
    caf::timespan nap = first_nap;
    for (size_t i = 1;; ++i) {
      bool napping = nap < relaxed.sleep_duration;
      auto started = siblings_started(self);
      bool timed_out;
      {
        std::unique_lock<std::mutex> guard(wait.lock);
        wait.sleeping = true;
        data.sound_asleep.store(!napping, std::memory_order_relaxed);
        timed_out = !wait.cv.wait_for(guard, napping ? nap : relaxed.sleep_duration,
                                      [&] { return data.nudged || !data.queue.empty(); });
        data.sound_asleep.store(false, std::memory_order_relaxed);
        data.nudged = false;
        wait.sleeping = false;
      }
      if ((job = data.queue.take_head())) return job;
      if (napping) {
        bool busy = siblings_running(self), progressed = siblings_started(self) != started;
        if (busy && !progressed && (job = try_steal(self))) return job;  // stuck in one job
        nap = busy || progressed ? 2 * nap : relaxed.sleep_duration;     // idle: sleep soundly
      } else if (!timed_out) {
        nap = first_nap;  // nudged: a job was queued behind a running one
      } else if (i % relaxed.steal_interval == 0 && (job = try_steal(self))) {
        return job;
      }
    }
  }

private:
  template <class Worker>
  static bool siblings_running(Worker* self) {
    auto* parent = self->parent();
    for (size_t id = 0; id < parent->num_workers(); ++id)
      if (id != self->id() && parent->worker_by_id(id)->data().running.load(std::memory_order_relaxed)) return true;
    return false;
  }

  // How many jobs the other workers started: unchanged over a nap, they stuck in their jobs.
  template <class Worker>
  static std::uint64_t siblings_started(Worker* self) {
    auto* parent = self->parent();
    std::uint64_t sum = 0;
    for (size_t id = 0; id < parent->num_workers(); ++id)
      if (id != self->id()) sum += parent->worker_by_id(id)->data().started.load(std::memory_order_relaxed);
    return sum;
  }
};

}  // namespace grove::actors::detail
