#include "grove/actors/storage_actor.hpp"

#include <caf/all.hpp>

#include "grove/actors/caf_error.hpp"

namespace grove::actors {

namespace {

// Sent by the storage actor to itself: commit the saves that are waiting.
using commit_atom = caf::atom_constant<caf::atom("grv_commit")>;

using storage_impl = storage_actor::extend<caf::reacts_to<commit_atom>>;

struct storage_state {
  std::unique_ptr<storage::backend> store;
  std::vector<storage::group_value> waiting;
  std::vector<caf::typed_response_promise<ok_atom>> promises;
  bool commit_scheduled = false;
  storage_stats stats;

  ~storage_state() {
    if (!store) return;
    if (!waiting.empty()) (void)store->save_batch(waiting);  // nobody is left to answer
    (void)store->close();
  }

  // Commits the waiting saves in one transaction and answers their requesters.
  void commit() {
    commit_scheduled = false;
    if (waiting.empty()) return;
    auto result = store->save_batch(waiting);
    ++stats.commits;
    for (auto& p : promises) {
      if (result) {
        p.deliver(ok_atom::value);
      } else {
        ++stats.errors;
        p.deliver(to_caf_error(result.error()));
      }
    }
    waiting.clear();
    promises.clear();
  }

  // The latest waiting save of a group, if any.
  const bytes* waiting_value(const storage::group& g) const {
    for (auto it = waiting.rbegin(); it != waiting.rend(); ++it)
      if (it->key == g) return &it->value;
    return nullptr;
  }

  template <class T>
  caf::result<T> answer(expected<T> r) {
    if (r) return std::move(*r);
    ++stats.errors;
    return to_caf_error(r.error());
  }

  caf::result<ok_atom> answer(status r) {
    if (r) return ok_atom::value;
    ++stats.errors;
    return to_caf_error(r.error());
  }
};

storage_impl::behavior_type storage_behavior(storage_impl::stateful_pointer<storage_state> self,
                                             std::shared_ptr<std::unique_ptr<storage::backend>> backend) {
  self->state.store = std::move(*backend);
  // Error messages sent to the storage actor are ignored; CAF's default would stop it.
  self->set_error_handler([](caf::error&) {});
  return {
    [=](save_atom, storage::group& g, bytes& value) -> caf::result<ok_atom> {
      auto& st = self->state;
      ++st.stats.saves;
      st.stats.bytes_saved += value.size();
      if (auto ok = g.validate(); !ok) return st.answer(ok);
      st.waiting.push_back({std::move(g), std::move(value)});
      auto promise = self->make_response_promise<ok_atom>();
      st.promises.push_back(promise);
      if (!st.commit_scheduled) {
        // Saves already in the mailbox are handled before this message: they join the commit.
        st.commit_scheduled = true;
        self->send(self, commit_atom::value);
      }
      return promise;
    },
    [=](commit_atom) { self->state.commit(); },
    [=](load_atom, const storage::group& g) -> caf::result<load_result> {
      auto& st = self->state;
      ++st.stats.loads;
      if (const bytes* v = st.waiting_value(g)) return load_result{true, *v};
      auto r = st.store->load(g);
      if (!r) return st.answer(expected<load_result>(r.error()));
      if (!*r) return load_result{false, {}};
      return load_result{true, std::move(**r)};
    },
    [=](erase_atom, const storage::group& g) -> caf::result<ok_atom> {
      self->state.commit();
      return self->state.answer(self->state.store->erase(g));
    },
    [=](list_atom) -> caf::result<std::vector<storage::group>> {
      self->state.commit();
      return self->state.answer(self->state.store->list_groups());
    },
    [=](sync_atom) -> caf::result<ok_atom> {
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
