// Everything in grove::crdt: the CRDT value types, clocks, GC and the codec.
#pragma once

#include "grove/crdt/clocks.hpp"
#include "grove/crdt/codec.hpp"
#include "grove/crdt/gc.hpp"
#include "grove/crdt/gcounter.hpp"
#include "grove/crdt/gset.hpp"
#include "grove/crdt/operation.hpp"
#include "grove/crdt/ormap.hpp"
#include "grove/crdt/orset.hpp"
#include "grove/crdt/registers.hpp"
#include "grove/crdt/rga.hpp"
