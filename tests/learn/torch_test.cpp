// Models, training and export with libtorch, and small simulations (tiny subsets, 1-2
// rounds) checking that secure aggregation gives the model plain aggregation gives.
#include <gtest/gtest.h>

#include <cmath>

#include "learn/torch/model.hpp"
#include "learn/torch/simulate.hpp"
#include "learn/torch/train.hpp"
#include "testing/testing.hpp"

namespace cairn::learn {
namespace {

const TrainTest& fmnist() {
  static const TrainTest data = [] {
    auto loaded = load_fashion_mnist();
    if (!loaded) throw std::runtime_error(loaded.error().to_string());
    return TrainTest{loaded->train.head(1200), loaded->test.head(500)};
  }();
  return data;
}

bool have_data() {
  return std::filesystem::exists(kFashionMnistDir);
}

const InputSpec kImages{{1, 28, 28}, 10};

TEST(Model, BuiltinsHaveStateDictNamesAndShapes) {
  set_torch_threads(1);
  const auto cnn = Model::builtin("cnn", kImages, 1);
  ASSERT_TRUE(cnn) << cnn.error().to_string();
  const auto params = cnn->parameters();
  std::vector<std::string> names;
  for (const auto& t : params.tensors)
    names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv1.weight", "conv1.bias", "conv2.weight",
                                             "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight",
                                             "fc2.bias", "fc3.weight", "fc3.bias"}));
  EXPECT_EQ(params.tensors[0].shape, (std::vector<std::int64_t>{6, 1, 5, 5}));
  EXPECT_EQ(params.tensors[2].shape, (std::vector<std::int64_t>{16, 6, 5, 5}));
  EXPECT_EQ(params.tensors[4].shape, (std::vector<std::int64_t>{120, 256}));
  EXPECT_EQ(params.values.size(), 44426u);
  auto model = cnn->clone();
  EXPECT_EQ(model.forward(torch::zeros({3, 1, 28, 28})).sizes(),
            (std::vector<std::int64_t>{3, 10}));
  EXPECT_FALSE(Model::builtin("cnn", InputSpec{{4}, 3}, 1));
  EXPECT_FALSE(Model::builtin("resnet", kImages, 1));
  const auto mlp = Model::builtin("mlp", InputSpec{{7}, 3}, 1);
  ASSERT_TRUE(mlp);
  EXPECT_EQ(mlp->parameters().values.size(), 7u * 200 + 200 + 200 * 200 + 200 + 200 * 3 + 3);
  // Same seed, same initial model.
  EXPECT_EQ(Model::builtin("logreg", kImages, 3)->parameters().values,
            Model::builtin("logreg", kImages, 3)->parameters().values);
}

TEST(Model, BuiltinsStandardiseTheirInputInsideTheModule) {
  set_torch_threads(1);
  InputSpec standardised = kImages;
  standardised.input_mean = 0.25f;
  standardised.input_std = 0.5f;
  const auto raw = torch::rand({4, 1, 28, 28});
  for (const char* name : {"logreg", "mlp", "cnn"}) {
    // Same seed, same parameters: the standardising model on x equals the plain one on
    // (x - 0.25) / 0.5, and the standardisation is not a parameter.
    auto with = Model::builtin(name, standardised, 5).value();
    auto without = Model::builtin(name, kImages, 5).value();
    EXPECT_EQ(with.parameters().values, without.parameters().values) << name;
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::allclose(with.forward(raw), without.forward((raw - 0.25) / 0.5), 1e-5, 1e-5))
        << name;
    EXPECT_FALSE(torch::allclose(with.forward(raw), without.forward(raw), 1e-3, 1e-3)) << name;
  }
  for (float bad_std : {0.0f, -1.0f, std::nanf("")}) {
    InputSpec bad = kImages;
    bad.input_std = bad_std;
    EXPECT_FALSE(Model::builtin("cnn", bad, 1)) << bad_std;
  }
}

TEST(Model, FeatureMomentsAreTheMeanAndPopulationStandardDeviation) {
  const FeatureMoments moments = feature_moments({1.0f, 2.0f, 3.0f, 4.0f});
  EXPECT_FLOAT_EQ(moments.mean, 2.5f);
  EXPECT_FLOAT_EQ(moments.std, std::sqrt(1.25f));
  // Nothing to standardise with: the identity.
  EXPECT_EQ(feature_moments({}).std, 1.0f);
  EXPECT_EQ(feature_moments({3.0f, 3.0f}).mean, 0.0f);
  EXPECT_EQ(feature_moments({3.0f, 3.0f}).std, 1.0f);
}

TEST(Model, SetParametersChecksLayout) {
  auto model = Model::builtin("logreg", kImages, 1).value();
  auto params = model.parameters();
  for (auto& v : params.values)
    v = 0.25f;
  ASSERT_TRUE(model.set_parameters(params));
  EXPECT_EQ(model.parameters().values, params.values);
  auto other = Model::builtin("mlp", kImages, 1).value().parameters();
  EXPECT_FALSE(model.set_parameters(other));
  EXPECT_FALSE(model.set_values(std::vector<float>(5, 0.0f)));
}

TEST(Training, LowersLossAndProximalTermKeepsModelClose) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  set_torch_threads(1);
  const auto data = to_tensors(fmnist().train);
  auto model = Model::builtin("logreg", kImages, 1).value();
  const auto before = evaluate(model, data);
  const auto start = model.parameters().values;
  TrainConfig config;
  config.epochs = 2;
  config.lr = 0.05;
  ASSERT_TRUE(train_local(model, data, config));
  const auto after = evaluate(model, data);
  EXPECT_LT(after.loss, before.loss);
  EXPECT_GT(after.accuracy, 0.6);
  auto distance = [&](const Model& m) {
    double d = 0;
    const auto v = m.parameters().values;
    for (std::size_t i = 0; i < v.size(); ++i)
      d += (v[i] - start[i]) * (v[i] - start[i]);
    return d;
  };
  auto prox = Model::builtin("logreg", kImages, 1).value();
  config.prox_mu = 10;
  ASSERT_TRUE(train_local(prox, data, config));
  EXPECT_LT(distance(prox), distance(model));
  config.optimizer = TrainConfig::Optimizer::adam;
  config.lr = 0.001;
  config.prox_mu = 0;
  auto adam = Model::builtin("logreg", kImages, 1).value();
  ASSERT_TRUE(train_local(adam, data, config));
  EXPECT_LT(evaluate(adam, data).loss, before.loss);
}

TEST(Export, TorchScriptAndStateDictReloadWithSameValues) {
  testing::TempDir dir;
  auto model = Model::builtin("cnn", kImages, 4).value();
  ASSERT_TRUE(model.save_torchscript(dir / "model.pt"));
  ASSERT_TRUE(model.save_state_dict(dir / "state_dict.pt"));
  // TorchScript: loads as a user-supplied model, same outputs.
  auto loaded = Model::load(dir / "model.pt", kImages);
  ASSERT_TRUE(loaded) << loaded.error().to_string();
  const auto x = torch::rand({2, 1, 28, 28});
  EXPECT_TRUE(torch::allclose(loaded->forward(x), model.forward(x)));
  EXPECT_EQ(loaded->parameters().values, model.parameters().values);
  // state_dict: a zip archive (torch.save's format) of name -> tensor.
  const auto bytes = testing::read_file(dir / "state_dict.pt");
  ASSERT_GT(bytes.size(), 4u);
  EXPECT_EQ(as_chars(ByteView(bytes).first(2)), "PK");
  EXPECT_NE(as_chars(bytes).find("data.pkl"), std::string_view::npos);
  const auto dict = load_state_dict(dir / "state_dict.pt");
  ASSERT_TRUE(dict) << dict.error().to_string();
  ASSERT_EQ(dict->size(), 10u);
  const auto params = model.parameters();
  std::size_t offset = 0;
  for (std::size_t i = 0; i < dict->size(); ++i) {
    const auto& [name, tensor] = (*dict)[i];
    EXPECT_EQ(name, params.tensors[i].name);
    const auto flat = tensor.contiguous();
    for (std::int64_t j = 0; j < flat.numel(); ++j) {
      ASSERT_EQ(flat.data_ptr<float>()[j], params.values[offset + static_cast<std::size_t>(j)]);
    }
    offset += static_cast<std::size_t>(flat.numel());
  }
}

TEST(Export, LoadRejectsBadModelFiles) {
  testing::TempDir dir;
  testing::write_file(dir / "junk.pt", as_bytes(std::string_view("not a zip archive")));
  const auto junk = Model::load(dir / "junk.pt", kImages);
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, Errc::parse);
  EXPECT_EQ(Model::load(dir / "missing.pt", kImages).error().code, Errc::not_found);
  // A valid TorchScript model for other inputs (7 features, 3 classes).
  ASSERT_TRUE(Model::builtin("mlp", InputSpec{{7}, 3}, 1)->save_torchscript(dir / "mlp.pt"));
  const auto wrong = Model::load(dir / "mlp.pt", kImages);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("rejects inputs"), std::string::npos);
  EXPECT_FALSE(load_state_dict(dir / "junk.pt"));
}

SimulationConfig tiny(SecureMode mode) {
  SimulationConfig config;
  config.clients = 3;
  config.rounds = 2;
  config.model = "logreg";
  config.train.lr = 0.05;
  config.train_limit = 600;
  config.test_limit = 300;
  config.contribution_test_rows = 300;
  config.secure = mode;
  config.paillier_bits = 1024;
  config.insecure_test_key = true;
  config.seed = 11;
  config.threads = 1;
  return config;
}

double max_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
  return worst;
}

TEST(Simulation, SecureAggregationGivesThePlainModel) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  auto plain_config = tiny(SecureMode::none);
  const auto plain = simulate(plain_config);
  ASSERT_TRUE(plain) << plain.error().to_string();
  const auto paillier = simulate(tiny(SecureMode::paillier));
  ASSERT_TRUE(paillier) << paillier.error().to_string();
  const auto mask = simulate(tiny(SecureMode::mask));
  ASSERT_TRUE(mask) << mask.error().to_string();
  // Fixed point with 24 fractional bits: per-value error 2^-25 per client in the weighted
  // sum, carried through one more round of training.
  EXPECT_LT(max_difference(plain->final_parameters.values, paillier->final_parameters.values),
            1e-4);
  EXPECT_LT(max_difference(plain->final_parameters.values, mask->final_parameters.values), 1e-4);
  EXPECT_NEAR(plain->final_accuracy, paillier->final_accuracy, 0.01);
  EXPECT_GT(paillier->rounds[0].seconds.encrypt, 0.0);
  EXPECT_GT(paillier->rounds[0].seconds.decrypt, 0.0);
  EXPECT_GT(plain->final_accuracy, 0.5);
}

TEST(Simulation, ContributionsReplayFromThePublishedReport) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  auto config = tiny(SecureMode::paillier);
  config.rounds = 1;
  config.clients = 4;
  const auto result = simulate(config);
  ASSERT_TRUE(result) << result.error().to_string();
  ASSERT_EQ(result->contributions.size(), 1u);
  const auto json = nlohmann::json::parse(result->to_json().dump());
  const auto report = RoundContribution::from_json(json["contributions"]["rounds"][0]).value();
  const auto published = ContributionConfig::from_json(json["contributions"]["config"]).value();
  EXPECT_GE(published.min_subset, 2u);  // secure mode: never a lone update
  for (const auto& s : report.subsets)
    EXPECT_GE(s.members.size(), 2u);
  const auto status = replay_contributions(report, published);
  EXPECT_TRUE(status) << status.error().to_string();
  EXPECT_EQ(json["contributions"]["clients"].size(), 4u);
}

TEST(Simulation, BadUpdatesAreRejectedAndTheRoundCompletes) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  for (auto mode : {SecureMode::none, SecureMode::paillier}) {
    for (auto kind : {FaultySpec::Kind::nan, FaultySpec::Kind::stale, FaultySpec::Kind::truncated,
                      FaultySpec::Kind::shape}) {
      auto config = tiny(mode);
      config.rounds = 1;
      config.clients = 4;
      config.contributions = false;
      config.faulty = FaultySpec{kind, 1};
      const auto result = simulate(config);
      ASSERT_TRUE(result) << result.error().to_string();
      const auto& round = result->rounds[0];
      EXPECT_EQ(round.participants, 3u)
          << config.faulty.to_string() << " " << secure_mode_name(mode);
      EXPECT_TRUE(round.applied);
      ASSERT_FALSE(round.messages.empty());
      EXPECT_NE(round.messages[0].find("client-3"), std::string::npos) << round.messages[0];
    }
  }
}

TEST(Simulation, WrongShapedUpdatesAreRejectedWithTheirSizes) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  // One of four: masking's default Shamir threshold (3 of 4) still recovers the others' sum.
  for (auto mode : {SecureMode::none, SecureMode::paillier, SecureMode::mask}) {
    auto config = tiny(mode);
    config.rounds = 1;
    config.clients = 4;
    config.contributions = false;
    config.faulty = parse_faulty("1:shape").value();
    const auto result = simulate(config);
    ASSERT_TRUE(result) << result.error().to_string();
    const auto& round = result->rounds[0];
    EXPECT_EQ(round.participants, 3u) << secure_mode_name(mode);
    EXPECT_TRUE(round.applied) << secure_mode_name(mode);
    std::string all;
    for (const auto& m : round.messages)
      all += m + "\n";
    EXPECT_NE(all.find("client-3"), std::string::npos) << all;
    // The message names the mismatch: the value counts or the layout.
    EXPECT_TRUE(all.find("values") != std::string::npos || all.find("layout") != std::string::npos)
        << all;
  }
  EXPECT_FALSE(parse_faulty("1:wobble"));
}

TEST(Simulation, DropoutsMidRoundLeaveTheRestToFinishInEveryMode) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  std::vector<std::vector<float>> models;
  for (auto mode : {SecureMode::none, SecureMode::paillier}) {
    auto config = tiny(mode);
    config.clients = 5;
    config.rounds = 2;
    config.dropout = 0.4;
    config.contributions = false;
    const auto result = simulate(config);
    ASSERT_TRUE(result) << result.error().to_string();
    std::size_t dropped = 0;
    for (const auto& r : result->rounds) {
      dropped += r.dropped;
      EXPECT_EQ(r.participants + r.dropped, 5u);
      if (r.participants > 0) {
        EXPECT_TRUE(r.applied);
      }
      for (const auto& m : r.messages) {
        EXPECT_TRUE(m.find("dropped out") != std::string::npos ||
                    m.find("no usable updates") != std::string::npos)
            << m;
      }
    }
    EXPECT_GT(dropped, 0u) << secure_mode_name(mode);
    models.push_back(result->final_parameters.values);
  }
  // The same clients drop in both modes (the draw depends on the seed only): same model.
  EXPECT_LT(max_difference(models[0], models[1]), 1e-4);
}

TEST(Simulation, MaskedRoundSurvivesDropouts) {
  if (!have_data()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  auto config = tiny(SecureMode::mask);
  config.clients = 6;
  config.rounds = 2;
  config.dropout = 0.3;
  config.mask_threshold = 2;  // tolerates 4 dropouts of 6
  config.contributions = false;
  const auto masked = simulate(config);
  ASSERT_TRUE(masked) << masked.error().to_string();
  std::size_t dropped = 0;
  for (const auto& r : masked->rounds)
    dropped += r.dropped;
  EXPECT_GT(dropped, 0u) << "seed 11 with dropout 0.3 should drop someone";
  // The same dropouts in plain mode give the same model.
  config.secure = SecureMode::none;
  const auto plain = simulate(config);
  ASSERT_TRUE(plain);
  EXPECT_LT(max_difference(plain->final_parameters.values, masked->final_parameters.values), 1e-4);
}

TEST(Simulation, RejectsRobustRulesUnderSecureAggregation) {
  auto config = tiny(SecureMode::paillier);
  config.rule = parse_aggregation_rule("median").value();
  const auto result = simulate(config);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("individual updates"), std::string::npos);
}

TEST(Simulation, LearningRateDecayStartsAtTheGivenRateAndShrinksAfterRoundOne) {
  auto constant = tiny(SecureMode::none);
  auto decayed = constant;
  decayed.lr_decay = 0.25;
  const auto a = simulate(constant);
  const auto b = simulate(decayed);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  // Round 1 trains at lr x decay^0: the same model; round 2 at a quarter of the rate.
  EXPECT_DOUBLE_EQ(a->rounds[0].train_loss, b->rounds[0].train_loss);
  EXPECT_DOUBLE_EQ(a->rounds[0].accuracy, b->rounds[0].accuracy);
  EXPECT_GT(max_difference(a->final_parameters.values, b->final_parameters.values), 1e-4);
  EXPECT_DOUBLE_EQ(b->to_json()["config"]["lr_decay"].get<double>(), 0.25);
}

}  // namespace
}  // namespace cairn::learn
