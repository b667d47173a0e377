#include "grove/actors/storage_actor.hpp"

#include <caf/all.hpp>

#include "grove/actors/caf_error.hpp"

namespace grove::actors {

namespace {

// Sent by the storage actor to itself: commit the saves that are waiting.
using commit_atom = caf::atom_constant<caf::atom("grv_commit")>;

using storage_impl = storage_actor::extend<caf::reacts_to<commit_atom>>;

// One save request (a single group or a batch) waiting for its commit, and its requester.
struct waiting_save {
  std::vector<storage::group_value> entries;
  caf::typed_response_promise<done_atom> promise;
};

struct storage_state {
  std::unique_ptr<storage::backend> store;
  std::vector<waiting_save> waiting;
  bool commit_scheduled = false;
  storage_stats stats;

  ~storage_state() {
    if (!store) return;
    commit();  // the exit handler did this already, unless the actor ended another way
    (void)store->close();
  }

  // Commits the waiting saves and answers their requesters: one transaction for all of them when
  // it succeeds; when it fails, one per request, so each requester gets the outcome of its own save.
  void commit() {
    commit_scheduled = false;
    if (waiting.empty()) return;
    auto requests = std::move(waiting);
    waiting.clear();
    std::vector<storage::group_value> all;
    for (auto& r : requests) all.insert(all.end(), r.entries.begin(), r.entries.end());
    ++stats.commits;
    auto together = store->save_batch(all);
    if (together || requests.size() == 1) {
      for (auto& r : requests) answer_commit(r.promise, together);
      return;
    }
    for (auto& r : requests) {
      ++stats.commits;
      answer_commit(r.promise, store->save_batch(r.entries));
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
      for (const auto& e : r.entries)
        if (e.key == g) return true;
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

// Adds a save request to the next commit; the requester is answered when it has run.
caf::result<done_atom> enqueue_save(storage_ptr self, std::vector<storage::group_value> entries) {
  auto& st = self->state;
  for (const auto& e : entries) {
    ++st.stats.saves;
    st.stats.bytes_saved += e.value.size();
    if (auto ok = e.key.validate(); !ok) return st.answer(ok);
  }
  auto promise = self->make_response_promise<done_atom>();
  st.waiting.push_back({std::move(entries), promise});
  if (!st.commit_scheduled) {
    // Saves already in the mailbox are handled before this message: they join the commit.
    st.commit_scheduled = true;
    self->send(self, commit_atom::value);
  }
  return promise;
}

storage_impl::behavior_type storage_behavior(storage_ptr self,
                                             std::shared_ptr<std::unique_ptr<storage::backend>> backend) {
  self->state.store = std::move(*backend);
  // Error messages sent to the storage actor are ignored; CAF's default would stop it.
  self->set_error_handler([](caf::error&) {});
  // Saves handled but not yet committed are committed and answered before the actor goes.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    self->state.commit();
    self->quit(msg.reason);
  });
  return {
    [=](save_atom, storage::group_key& g, bytes& value) -> caf::result<done_atom> {
      std::vector<storage::group_value> one;
      one.push_back({std::move(g), std::move(value)});
      return enqueue_save(self, std::move(one));
    },
    [=](save_atom, std::vector<storage::group_value>& entries) -> caf::result<done_atom> {
      return enqueue_save(self, std::move(entries));
    },
    [=](commit_atom) { self->state.commit(); },
    [=](load_atom, const storage::group_key& g) -> caf::result<load_result> {
      auto& st = self->state;
      ++st.stats.loads;
      if (st.is_waiting(g)) st.commit();  // what its commit refuses must not be served
      auto r = st.store->load(g);
      if (!r) return st.answer(expected<load_result>(r.error()));
      if (!*r) return load_result{false, {}};
      return load_result{true, std::move(**r)};
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

storage_actor spawn_storage_actor(caf::actor_system& sys, std::unique_ptr<storage::backend> backend) {
  // The behaviour function is copied by spawn: hand the backend over through a shared slot.
  auto slot = std::make_shared<std::unique_ptr<storage::backend>>(std::move(backend));
  auto impl = sys.spawn<caf::detached>(storage_behavior, slot);
  return caf::actor_cast<storage_actor>(impl);
}

}  // namespace grove::actors
