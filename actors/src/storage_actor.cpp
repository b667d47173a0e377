#include "grove/actors/storage_actor.hpp"

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
    std::vector<storage::write_op> all;
    for (auto& r : requests) all.insert(all.end(), r.ops.begin(), r.ops.end());
    count_commit();
    auto together = store->write(all);
    if (together || requests.size() == 1) {
      for (auto& r : requests) answer_commit(r.promise, together);
      return;
    }
    for (auto& r : requests) {
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
};

using storage_ptr = storage_impl::stateful_pointer<storage_state>;

// Adds a write request to the next commit; the requester is answered when it has run.
caf::result<done_atom> enqueue_write(storage_ptr self, std::vector<storage::write_op> ops) {
  auto& st = self->state;
  for (const auto& op : ops) {
    if (op.what == storage::write_op::kind::save) {
      ++st.stats.saves;
      st.stats.bytes_saved += op.value.size();
      if (st.metrics) add(st.metrics->snapshot_bytes_written, op.value.size());
    } else if (op.what == storage::write_op::kind::append) {
      ++st.stats.appends;
      st.stats.bytes_appended += op.value.size();
      if (st.metrics) add(st.metrics->log_bytes_written, op.value.size());
    }
    if (auto ok = op.key.validate(); !ok) return st.answer(ok);
  }
  auto promise = self->make_response_promise<done_atom>();
  st.waiting.push_back({std::move(ops), promise});
  if (!st.commit_scheduled) {
    // Saves already in the mailbox are handled before this message: they join the commit.
    st.commit_scheduled = true;
    self->send(self, commit_atom::value);
  }
  return promise;
}

storage_impl::behavior_type storage_behavior(storage_ptr self,
                                             std::shared_ptr<std::unique_ptr<storage::backend>> backend,
                                             std::shared_ptr<node_metrics> metrics) {
  self->state.store = std::move(*backend);
  self->state.metrics = std::move(metrics);
  // Error messages sent to the storage actor are ignored; CAF's default would stop it.
  self->set_error_handler([](caf::error&) {});
  // Saves handled but not yet committed are committed and answered before the actor goes.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    self->state.commit();
    self->quit(msg.reason);
  });
  return {
    [=](save_atom, storage::group_key& g, bytes& value) -> caf::result<done_atom> {
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
    [=](write_atom, std::vector<storage::write_op>& ops) -> caf::result<done_atom> {
      return enqueue_write(self, std::move(ops));
    },
    [=](commit_atom) { self->state.commit(); },
    [=](load_atom, const storage::group_key& g) -> caf::result<load_result> {
      auto& st = self->state;
      ++st.stats.loads;
      if (st.is_waiting(g)) st.commit();  // what its commit refuses must not be served
      auto r = st.store->load(g);
      if (!r) return st.answer(expected<load_result>(r.error()));
      auto log = st.store->read_log(g);
      if (!log) return st.answer(expected<load_result>(log.error()));
      load_result out;
      out.found = r->has_value();
      if (out.found) out.value = std::move(**r);
      out.log = std::move(*log);
      return out;
    },
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
                                  std::shared_ptr<node_metrics> metrics) {
  // The behaviour function is copied by spawn: hand the backend over through a shared slot.
  auto slot = std::make_shared<std::unique_ptr<storage::backend>>(std::move(backend));
  auto impl = sys.spawn<caf::detached>(storage_behavior, slot, std::move(metrics));
  return caf::actor_cast<storage_actor>(impl);
}

}  // namespace grove::actors
