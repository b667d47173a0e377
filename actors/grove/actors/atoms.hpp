// Atoms that more than one of Grove's actors answer with or accept. Each actor's own atoms live
// beside its interface (storage_actor.hpp, replica.hpp, membership.hpp). All values start with
// "grv_", so none equals one of CAF's own atoms.
#pragma once

#include <caf/atom.hpp>

namespace grove::actors {

/// The answer of a request that has nothing else to say: it was done.
using done_atom = caf::atom_constant<caf::atom("grv_done")>;
/// Asks an actor for its counters (storage_stats, replica_stats).
using stats_atom = caf::atom_constant<caf::atom("grv_stats")>;

}  // namespace grove::actors
