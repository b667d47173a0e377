#include "grove/actors/caf_error.hpp"

#include <caf/all.hpp>

namespace grove::actors {

namespace {

constexpr caf::atom_value grove_category = caf::atom("grove");
constexpr std::uint8_t last_code = static_cast<std::uint8_t>(errc::not_found);

std::string context_text(const caf::message& ctx) {
  if (ctx.size() >= 1 && ctx.match_element<std::string>(0)) return ctx.get_as<std::string>(0);
  return caf::to_string(ctx);
}

}  // namespace

caf::error to_caf_error(const grove::error& e) {
  return caf::error(static_cast<std::uint8_t>(static_cast<std::uint8_t>(e.code()) + 1), grove_category,
                    caf::make_message(e.message()));
}

caf::error to_caf_error(const grove::error& e, const level_shortfall& s) {
  return caf::error(static_cast<std::uint8_t>(static_cast<std::uint8_t>(e.code()) + 1), grove_category,
                    caf::make_message(e.message(), s.acks, s.needed, s.replicas));
}

std::optional<level_shortfall> shortfall_of(const caf::error& e) {
  const auto& ctx = e.context();
  if (e.category() != grove_category || !ctx.match_elements<std::string, std::uint32_t, std::uint32_t, std::uint32_t>())
    return std::nullopt;
  return level_shortfall{ctx.get_as<std::uint32_t>(1), ctx.get_as<std::uint32_t>(2), ctx.get_as<std::uint32_t>(3)};
}

grove::error from_caf_error(const caf::error& e) {
  if (e.category() == grove_category && e.code() >= 1 && e.code() <= last_code + 1)
    return grove::error(static_cast<errc>(e.code() - 1), context_text(e.context()));
  return grove::error(errc::unavailable, caf::to_string(e));
}

void add_grove_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(grove_category, [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
    if (code < 1 || code > last_code + 1) return std::string("grove: unknown error");
    return std::string("grove: ") + to_string(static_cast<errc>(code - 1)) + ": " + context_text(ctx);
  });
}

}  // namespace grove::actors
