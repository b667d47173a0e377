#include "grove/actors/storage_actor.hpp"

#include <iterator>

#include <caf/all.hpp>

#include "grove/actors/caf_error.hpp"

namespace grove::actors {

namespace {

// Sent by the storage actor to itself: commit the saves that are waiting.
using commit_atom = caf::atom_constant<caf::atom("grv_commit")>;

using storage_impl = storage_actor::extend<caf::reacts_to<commit_atom>>;

// One save or write request waiting for its commit, and its requester.
struct waiting_write {
  std::vector<storage::write_op> ops;
  caf::typed_response_promise<done_atom> promise;
};

struct storage_state {
  std::unique_ptr<storage::backend> store;
  // Group commit shares the waits for the disk between requests; a backend that never waits
  // (backend::may_block) has none to share, so its writes run at once.
  bool group_commit = true;
  std::chrono::milliseconds commit_delay{0};
  std::vector<waiting_write> waiting;
  bool commit_scheduled = false;
  storage_stats stats;
  std::shared_ptr<node_metrics> metrics;  // optional

  void count_commit() {
    ++stats.commits;
    if (metrics) add(metrics->storage_commits);
  }

  ~storage_state() {
    if (!store) return;
    commit();  // the exit handler did this already, unless the actor ended another way
    (void)store->close();
  }

  // Commits the waiting writes and answers their requesters: one transaction for all of them when
  // it succeeds; when it fails, one per request, so each requester gets the outcome of its own.
  void commit() {
    commit_scheduled = false;
    if (waiting.empty()) return;
    auto requests = std::move(waiting);
    waiting.clear();
    count_commit();
    if (requests.size() == 1) {
      answer_commit(requests.front().promise, store->write(requests.front().ops));
      return;
    }
    // The operations move into one write (values are not copied) and back if it fails.
    std::vector<storage::write_op> all;
    std::vector<std::size_t> ends;
    for (auto& r : requests) {
      std::move(r.ops.begin(), r.ops.end(), std::back_inserter(all));
      ends.push_back(all.size());
    }
    auto together = store->write(all);
    if (together) {
      for (auto& r : requests) answer_commit(r.promise, together);
      return;
    }
    for (std::size_t i = 0, begin = 0; i < requests.size(); begin = ends[i++]) {
      auto& r = requests[i];
      r.ops.assign(std::make_move_iterator(all.begin() + begin), std::make_move_iterator(all.begin() + ends[i]));
      count_commit();
      answer_commit(r.promise, store->write(r.ops));
    }
  }

  void answer_commit(caf::typed_response_promise<done_atom>& promise, const status& result) {
    if (result) {
      promise.deliver(done_atom::value);
    } else {
      ++stats.errors;
      promise.deliver(to_caf_error(result.error()));
    }
  }

  bool is_waiting(const storage::group_key& g) const {
    for (const auto& r : waiting)
      for (const auto& op : r.ops)
        if (op.key == g) return true;
    return false;
  }

  template <class T>
  caf::result<T> answer(expected<T> r) {
    if (r) return std::move(*r);
    ++stats.errors;
    return to_caf_error(r.error());
  }

  caf::result<done_atom> answer(status r) {
    if (r) return done_atom::value;
    ++stats.errors;
    return to_caf_error(r.error());
  }

  void count_save(std::size_t value_size) {
    ++stats.saves;
    stats.bytes_saved += value_size;
    if (metrics) add(metrics->snapshot_bytes_written, value_size);
  }
};

using storage_ptr = storage_impl::stateful_pointer<storage_state>;

// Adds a write request to the next commit; the requester is answered when it has run. Without
// group commit, the write runs now.
caf::result<done_atom> enqueue_write(storage_ptr self, std::vector<storage::write_op> ops) {
  auto& st = self->state;
  for (const auto& op : ops) {
    if (op.what == storage::write_op::kind::save) {
      st.count_save(op.value.size());
    } else if (op.what == storage::write_op::kind::append) {
      ++st.stats.appends;
      st.stats.bytes_appended += op.value.size();
      if (st.metrics) add(st.metrics->log_bytes_written, op.value.size());
    }
    if (auto ok = op.key.validate(); !ok) return st.answer(ok);
  }
  if (!st.group_commit) {
    st.count_commit();
    return st.answer(st.store->write(ops));
  }
  auto promise = self->make_response_promise<done_atom>();
  st.waiting.push_back({std::move(ops), promise});
  if (!st.commit_scheduled) {
    // Saves already in the mailbox are handled before this message: they join the commit (and
    // so does whatever arrives within the commit window).
    st.commit_scheduled = true;
    if (st.commit_delay.count() > 0)
      self->delayed_send(self, st.commit_delay, commit_atom::value);
    else
      self->send(self, commit_atom::value);
  }
  return promise;
}

storage_impl::behavior_type storage_behavior(storage_ptr self,
                                             std::shared_ptr<std::unique_ptr<storage::backend>> backend,
                                             storage_actor_options options) {
  self->state.store = std::move(*backend);
  self->state.group_commit = self->state.store->may_block();
  self->state.commit_delay = options.commit_delay;
  self->state.metrics = std::move(options.metrics);
  // Error messages sent to the storage actor are ignored; CAF's default would stop it.
  self->set_error_handler([](caf::error&) {});
  // Saves handled but not yet committed are committed and answered before the actor goes.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    self->state.commit();
    self->quit(msg.reason);
  });
  // Handlers in order of how often they run: CAF tries them one by one.
  return {
    [=](load_atom, const storage::group_key& g) -> caf::result<load_result> {
      auto& st = self->state;
      ++st.stats.loads;
      if (st.is_waiting(g)) st.commit();  // what its commit refuses must not be served
      auto r = st.store->load_group(g);
      if (!r) return st.answer(expected<load_result>(r.error()));
      load_result out;
      out.found = r->snapshot.has_value();
      if (out.found) out.value = std::move(*r->snapshot);
      out.log = std::move(r->log);
      return out;
    },
    [=](write_atom, std::vector<storage::write_op>& ops) -> caf::result<done_atom> {
      return enqueue_write(self, std::move(ops));
    },
    [=](save_atom, storage::group_key& g, bytes& value) -> caf::result<done_atom> {
      if (auto& st = self->state; !st.group_commit) {  // backend::save: no operation to build
        st.count_save(value.size());
        st.count_commit();
        return st.answer(st.store->save(g, value));
      }
      std::vector<storage::write_op> one;
      one.push_back(storage::write_op::save(std::move(g), std::move(value)));
      return enqueue_write(self, std::move(one));
    },
    [=](save_atom, std::vector<storage::group_value>& entries) -> caf::result<done_atom> {
      std::vector<storage::write_op> ops;
      ops.reserve(entries.size());
      for (auto& e : entries) ops.push_back(storage::write_op::save(std::move(e.key), std::move(e.value)));
      return enqueue_write(self, std::move(ops));
    },
    [=](commit_atom) { self->state.commit(); },
    [=](erase_atom, const storage::group_key& g) -> caf::result<done_atom> {
      self->state.commit();
      return self->state.answer(self->state.store->erase(g));
    },
    [=](list_atom) -> caf::result<std::vector<storage::group_key>> {
      self->state.commit();
      return self->state.answer(self->state.store->list_groups());
    },
    [=](flush_atom) -> caf::result<done_atom> {
      self->state.commit();
      return self->state.answer(self->state.store->sync());
    },
    [=](stats_atom) -> storage_stats { return self->state.stats; },
  };
}

}  // namespace

storage_actor spawn_storage_actor(caf::actor_system& sys, std::unique_ptr<storage::backend> backend,
                                  storage_actor_options options) {
  // The behaviour function is copied by spawn: hand the backend over through a shared slot.
  bool may_block = backend->may_block();
  auto slot = std::make_shared<std::unique_ptr<storage::backend>>(std::move(backend));
  auto impl =
    may_block ? sys.spawn<caf::detached>(storage_behavior, slot, options) : sys.spawn(storage_behavior, slot, options);
  return caf::actor_cast<storage_actor>(impl);
}

}  // namespace grove::actors
