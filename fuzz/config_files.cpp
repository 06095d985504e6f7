// libFuzzer target for the text a user hands the planner: tier files (TOML), machine profiles, expert
// usage profiles and plans (JSON), and --hardware strings. Byte 0 picks the parser, the rest is the text.
// Each must either accept it or throw strata::Error (a library exception escaping is a bug too); an
// accepted tier file is also applied to a machine, and an accepted hardware string or profile is used to
// plan a small model, so the values they let through are exercised as well.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/shapes.h"
#include "plan/plan.h"
#include "plan/presets.h"
#include "plan/usage.h"
#include "tiers/machine.h"
#include "tiers/tier_config.h"
#include "util/error.h"

namespace {

const strata::ModelCatalogue& small_model() {
  static const strata::ModelCatalogue cat = [] {
    const strata::HParams hp = strata::shape_hparams("qwen3-30b-a3b");
    return strata::build_catalogue(hp, strata::model_tensors(hp, strata::quant_mix("Q4_K_M")));
  }();
  return cat;
}

void plan_on(const strata::MachineProfile& m) {
  try {
    (void)strata::make_plan(small_model(), m, nullptr, strata::PlanOptions{});
  } catch (const strata::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    switch (data[0] % 5) {
      case 0: {
        const strata::TierConfig cfg = strata::parse_tier_config(text, "fuzz.toml");
        strata::MachineProfile m = strata::parse_hardware("xeon-6338 + nvme-gen4");
        strata::apply_tier_config(m, cfg);
        plan_on(m);
        break;
      }
      case 1: plan_on(strata::profile_from_json(text, "fuzz.json")); break;
      case 2: (void)strata::usage_from_json(text, "fuzz.json"); break;
      case 3: (void)strata::plan_from_json(text, "fuzz.json"); break;
      case 4: plan_on(strata::parse_hardware(text)); break;
    }
  } catch (const strata::Error&) {
  }
  return 0;
}
