#include "market/role.hpp"

#include "market/aggregator.hpp"
#include "market/auditor.hpp"
#include "market/compute_provider.hpp"
#include "market/data_provider.hpp"
#include "market/model_provider.hpp"

namespace cairn::market {

Result<std::unique_ptr<Role>> make_role(const std::string& kind, const nlohmann::json& config,
                                        NodeContext& context) {
  if (kind == "model_provider") return make_model_provider(config, context);
  if (kind == "aggregator") return make_aggregator(config, context);
  if (kind == "auditor") return make_auditor(config, context);
  if (kind == "data_provider") return make_data_provider(config, context);
  if (kind == "compute_provider") return make_compute_provider(config, context);
  return fail(Errc::invalid_argument,
              "unknown role " + kind +
                  " (data_provider, compute_provider, model_provider, aggregator, auditor)");
}

}  // namespace cairn::market
