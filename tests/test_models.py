"""The networks of Sec. 8: parameter counts (the paper's n), shapes, layer order, BN re-estimation."""
import pytest
import torch
from torch import nn

from deeprelax.train import models


@pytest.mark.parametrize("name, n", [("mnistfc", 1_867_786), ("lenet", 131_220),
                                     ("allcnn", 1_667_166)])
def test_parameter_counts_match_the_paper(name, n):
    # paper: mnistfc "1.86 million", LeNet n = 131,220, All-CNN "1.67 million"
    model = models.build(name)
    assert models.count_parameters(model) == n == models.PAPER_PARAMETER_COUNTS[name]


@pytest.mark.parametrize("name", ["mnistfc", "lenet", "allcnn"])
def test_output_shape(name):
    torch.manual_seed(0)
    model = models.build(name).eval()
    x = torch.rand(3, *models.INPUT_SHAPES[name]) * 255
    out = model(x)
    assert out.shape == (3, 10) and torch.isfinite(out).all()


def test_layer_order_and_dropout_rates():
    kinds = lambda m: [type(l).__name__ for l in m]  # noqa: E731
    assert kinds(models.mnistfc())[:6] == ["Flatten", "Dropout", "Linear", "ReLU",
                                           "BatchNorm1d", "Dropout"]
    assert kinds(models.lenet())[:5] == ["Conv2d", "ReLU", "MaxPool2d", "BatchNorm2d",
                                         "Dropout"]
    rates = {name: [m.p for m in models.build(name).modules() if isinstance(m, nn.Dropout)]
             for name in models.MODELS}
    assert rates == {"mnistfc": [0.2] * 3, "lenet": [0.25] * 3, "allcnn": [0.2, 0.5, 0.5]}
    strides = [m.stride[0] for m in models.allcnn().modules() if isinstance(m, nn.Conv2d)]
    assert strides == [1, 1, 2, 1, 1, 2, 1, 1, 1]
    # LeNet: 28 -> conv5 24 -> pool3 8 -> conv5 4 -> pool2 2, so 50*2*2 = 200 features
    assert models.lenet()[11].in_features == 200


def test_reestimate_bn_gives_the_population_statistics():
    torch.manual_seed(0)
    model = models.mnistfc()
    data = torch.rand(600, 1, 28, 28) * 255
    batches = list(data.split(100))
    model.train()
    for _ in range(3):                     # move the running stats somewhere else
        model(torch.randn(50, 1, 28, 28) * 1000)
    n = models.reestimate_bn(model, batches)
    assert n == 6
    # expected: mean over the data of the first BN's input (dropout off), and the mean of the
    # per-batch unbiased variances
    with torch.no_grad():
        h = model[3](model[2](model[0](data)))
        mean = h.mean(0)
        var = torch.stack([b.var(0, unbiased=True) for b in h.split(100)]).mean(0)
    bn = model[4]
    assert torch.allclose(bn.running_mean, mean, rtol=1e-4, atol=1e-4)
    assert torch.allclose(bn.running_var, var, rtol=1e-4, atol=1e-4)
    assert model.training and bn.momentum == 0.1          # modes and momentum restored
    with pytest.raises(ValueError, match="at least one batch"):
        models.reestimate_bn(model, [])


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown network"):
        models.build("resnet")
