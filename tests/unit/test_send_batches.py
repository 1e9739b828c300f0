"""How a fan-out is cut into send tasks: enough of them for every worker process to take a
share, none larger than the batch size, none empty."""

import pytest

from workflow.tasks import batches


def sizes(n: int, size: int = 50, spread: int = 8) -> list[int]:
    return [len(b) for b in batches(list(range(n)), size, spread)]


def test_a_session_of_sixty_goes_out_in_eight_near_equal_tasks() -> None:
    assert sizes(62) == [8, 8, 8, 8, 8, 8, 7, 7]


def test_a_large_session_is_cut_at_the_batch_size() -> None:
    assert sizes(1000) == [50] * 20
    assert sizes(1001) == [48] * 14 + [47] * 7


def test_fewer_deliveries_than_the_spread_go_one_a_task() -> None:
    assert sizes(3) == [1, 1, 1]
    assert sizes(0) == []


@pytest.mark.parametrize("n", [1, 7, 8, 9, 49, 50, 51, 399, 400, 401, 2345])
@pytest.mark.parametrize(("size", "spread"), [(50, 8), (50, 1), (1, 8), (7, 3)])
def test_every_delivery_once_in_order_and_no_batch_too_large(
    n: int, size: int, spread: int
) -> None:
    cut = batches(list(range(n)), size, spread)
    assert [d for b in cut for d in b] == list(range(n))
    assert all(0 < len(b) <= size for b in cut)
    assert len(cut) >= min(spread, n)
    assert max(map(len, cut)) - min(map(len, cut)) <= 1
