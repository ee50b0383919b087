// `cairn task list|show|claim|payout|challenge`: a TrainingTask's life on chain, outside
// the nodes — what a participant, an owner or anyone else does by hand. Each reads the
// chain through market/protocol (one reader of tasks for nodes and CLI alike).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "chain/contract.hpp"
#include "cli/cmd_chain_support.hpp"
#include "cli/command.hpp"
#include "market/protocol.hpp"

namespace cairn::cli {
namespace {

using namespace chain_support;
using chain::abi::Value;
using nlohmann::json;

// What market's readers need of a node: the chain and the deployment, nothing else.
market::NodeContext chain_context(const Connection& connection) {
  market::NodeContext context;
  context.name = "cli";
  context.sender = connection.sender;
  context.deployment = connection.config->deployment;
  return context;
}

std::uint64_t task_id_of(const Args& args) {
  const std::string& text = args.positional(0, "TASK");
  const auto id = market::decimal_u64(text);
  if (!id || *id == 0) throw UsageError("TASK must be a task id (1, 2, …), not \"" + text + "\"");
  return *id;
}

json task_json(const market::TaskInfo& task) {
  return {{"task", task.id},
          {"owner", task.owner.to_checksum()},
          {"state", std::string(market::to_string(task.state))},
          {"started", task.started},
          {"rounds", task.rounds},
          {"roundsClosed", task.current_round},
          {"participants", task.participant_count},
          {"maxParticipants", task.max_participants},
          {"deadline", task.deadline},
          {"aggregator", task.aggregator.to_checksum()},
          {"specCid", task.spec_cid.to_string()},
          {"terms", task.terms.to_json()},
          {"contributors", task.progress.contributors},
          {"acceptedUpdates", task.progress.accepted_total},
          {"challenges", task.progress.challenges}};
}

std::string task_line(const market::TaskInfo& task) {
  return fmt::format("task {}: {} by {}, {}/{} rounds, {} participant(s), {} contributor(s)",
                     task.id, market::to_string(task.state), task.owner.to_checksum(),
                     task.current_round, task.rounds, task.participant_count,
                     task.progress.contributors);
}

int run_list(Context& ctx, const Args& args) {
  args.expect_positional(0, 0);
  Connection connection = connect_deployed(ctx, args);
  const market::NodeContext context = chain_context(connection);
  const auto tasks = unwrap(market::all_tasks(context), "reading the tasks");
  json list = json::array();
  for (const auto& task : tasks) {
    ctx.print(task_line(task));
    list.push_back(task_json(task));
  }
  if (tasks.empty()) ctx.print("no tasks on this deployment");
  ctx.result = {{"tasks", std::move(list)}};
  return kExitOk;
}

int run_show(Context& ctx, const Args& args) {
  args.expect_positional(1, 1);
  const std::uint64_t id = task_id_of(args);
  Connection connection = connect_deployed(ctx, args);
  const market::NodeContext context = chain_context(connection);
  const auto task = unwrap(market::read_task(context, id), fmt::format("reading task {}", id));
  const auto contract = unwrap(market::training_task_contract(context));
  json result = task_json(task);
  ctx.print(task_line(task));
  ctx.print(fmt::format(
      "  terms: floor {} wei, stake {} wei, windows: commit {} s, report {} s, "
      "challenge {} s{}",
      task.terms.floor.to_decimal(), task.terms.stake.to_decimal(), task.terms.commit_window_s,
      task.terms.report_window_s, task.terms.challenge_window_s,
      task.terms.allowlist == ByteArray<32>{} ? "" : ", allowlist"));
  const auto pool = unwrap(contract.call("pool", {Value(id)}));
  result["poolWei"] = unwrap(pool.at(0).as_uint()).to_decimal();
  json members = json::array();
  for (const auto& join : unwrap(market::task_joins(context, id))) {
    const auto values = unwrap(contract.call("participants", {Value(id), Value(join.participant)}));
    const auto claimable = unwrap(contract.call("claimable", {Value(id), Value(join.participant)}));
    const std::uint64_t accepted = unwrap(values.at(3).as_u64());
    const bool claimed = unwrap(values.at(1).as_bool());
    const auto owed = unwrap(claimable.at(0).as_uint());
    ctx.print(fmt::format("  {}: {} accepted update(s), {}{}", join.participant.to_checksum(),
                          accepted, claimed ? "claimed" : owed.to_decimal() + " wei to claim",
                          unwrap(values.at(2).as_bool()) ? ", challenged the report" : ""));
    members.push_back({{"participant", join.participant.to_checksum()},
                       {"manifestCid", join.manifest_cid.to_string()},
                       {"accepted", accepted},
                       {"claimed", claimed},
                       {"challenged", unwrap(values.at(2).as_bool())},
                       {"reportedWei", unwrap(values.at(4).as_uint()).to_decimal()},
                       {"claimableWei", owed.to_decimal()}});
  }
  result["members"] = std::move(members);
  ctx.result = std::move(result);
  return kExitOk;
}

// claim | payout | challenge: one transaction from the signer.
int run_action(Context& ctx, const Args& args, std::string_view action) {
  args.expect_positional(1, 1);
  const std::uint64_t id = task_id_of(args);
  Connection connection = connect_deployed(ctx, args);
  const chain::Signer who = signer(ctx, args, connection);
  const market::NodeContext context = chain_context(connection);
  const auto task = unwrap(market::read_task(context, id), fmt::format("reading task {}", id));
  const auto contract = unwrap(market::training_task_contract(context));
  std::string function(action);
  json extra = json::object();
  if (action == "claim") {
    const auto owed = unwrap(contract.call("claimable", {Value(id), Value(who.address)}));
    extra["amountWei"] = unwrap(owed.at(0).as_uint()).to_decimal();
  } else if (action == "payout") {
    // A task whose training finished pays by the rule's default; one still training past
    // its deadline expires.
    const bool finished = task.started && task.current_round == task.rounds;
    function = finished ? "payoutDefault" : "expire";
  }
  const auto tx = unwrap(contract.transact(who, function, {Value(id)}),
                         fmt::format("task {}: {}", id, function));
  ctx.print(fmt::format("task {}: {} by {} in block {}{}", id, function, who.address.to_checksum(),
                        tx.receipt.block_number,
                        extra.contains("amountWei")
                            ? fmt::format(" ({} wei)", extra["amountWei"].get<std::string>())
                            : ""));
  ctx.result = {{"task", id}, {"action", function}, {"from", who.address.to_checksum()}};
  ctx.result.update(extra);
  ctx.result.update(tx_json(tx));
  return kExitOk;
}

std::vector<OptionSpec> signed_options() {
  auto options = connection_options();
  const auto signing = signer_options();
  options.insert(options.end(), signing.begin(), signing.end());
  return options;
}

const CommandRegistration task_list_command{
    Command{"task", "list", "every training task on the deployment, with its state", "",
            connection_options(), "", run_list}};
const CommandRegistration task_show_command{
    Command{"task", "show", "a task's terms, progress and each participant's standing", "TASK",
            connection_options(), "", run_show}};
const CommandRegistration task_claim_command{Command{
    "task", "claim", "pull what the task owes the signer (reward and stake, or the owner's credit)",
    "TASK", signed_options(),
    "Claims open after the report's challenge window, at once under the default payout or "
    "after an expiry.",
    [](Context& ctx, const Args& args) { return run_action(ctx, args, "claim"); }}};
const CommandRegistration task_payout_command{Command{
    "task", "payout",
    "anyone: start the default payout (no report in time) or expire a task past its deadline",
    "TASK", signed_options(), "",
    [](Context& ctx, const Args& args) { return run_action(ctx, args, "payout"); }}};
const CommandRegistration task_challenge_command{
    Command{"task", "challenge",
            "a contributor objects to the report; more than half objecting replaces it with the "
            "default payout",
            "TASK", signed_options(), "",
            [](Context& ctx, const Args& args) { return run_action(ctx, args, "challenge"); }}};

}  // namespace
}  // namespace cairn::cli
