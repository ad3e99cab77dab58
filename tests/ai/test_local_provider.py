import numpy as np
import pytest

from linkdo.ai.local import LocalProvider

# A small labelled set: four topics, each in English and in Korean.
TOPICS = {
    "groceries": [
        "Buy milk and eggs at the grocery store",
        "Grocery shopping: bread, milk, cheese",
        "Pick up vegetables and fruit at the market",
        "마트에서 우유와 계란 사기",
        "장보기: 우유, 빵, 치즈",
        "시장에서 채소와 과일 사기",
    ],
    "code": [
        "Fix the login bug in the backend API",
        "Write unit tests for the API endpoints",
        "Refactor the database code in the backend",
        "백엔드 API 로그인 버그 수정",
        "API 엔드포인트 테스트 작성",
        "백엔드 데이터베이스 코드 리팩터링",
    ],
    "fitness": [
        "Go running in the park for 30 minutes",
        "Gym workout: squats and running",
        "Yoga and stretching before the gym",
        "공원에서 30분 달리기",
        "헬스장 운동: 스쿼트와 달리기",
        "헬스장 가기 전에 요가와 스트레칭",
    ],
    "travel": [
        "Book flights and hotel for the Tokyo trip",
        "Pack the suitcase for the trip to Tokyo",
        "Renew passport before the flight",
        "도쿄 여행 항공권과 호텔 예약",
        "도쿄 여행 가방 싸기",
        "비행 전에 여권 갱신",
    ],
}
TEXTS = [text for texts in TOPICS.values() for text in texts]
LABELS = [topic for topic, texts in TOPICS.items() for _ in texts]
LANGS = ["ko" if any("\uac00" <= ch <= "\ud7a3" for ch in t) else "en" for t in TEXTS]


@pytest.fixture(scope="module")
def similarities():
    vectors = LocalProvider(dim=768).embed(TEXTS)
    return vectors @ vectors.T


def test_shape_norm_and_determinism():
    provider = LocalProvider(dim=64)
    first = provider.embed(["hello world", "안녕하세요", ""])
    assert first.shape == (3, 64)
    assert first.dtype == np.float32
    assert np.allclose(np.linalg.norm(first[:2], axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, LocalProvider(dim=64).embed(["hello world", "안녕하세요", ""]))
    assert provider.embed([]).shape == (0, 64)
    assert provider.suggest_tags("anything", ["a"]) is None


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_same_topic_is_nearer_than_other_topics(similarities, lang):
    """Within a language: same-topic pairs are nearer than different-topic pairs on average and for
    at least 80 % of texts, and most texts' nearest neighbour is on their topic. (A lexical provider
    cannot relate texts that share no words, so not every single text can win.)"""
    indices = [i for i, text_lang in enumerate(LANGS) if text_lang == lang]
    all_same, all_different, texts_won, nearest_right = [], [], 0, 0
    for i in indices:
        others = [j for j in indices if j != i]
        same = [similarities[i, j] for j in others if LABELS[j] == LABELS[i]]
        different = [similarities[i, j] for j in others if LABELS[j] != LABELS[i]]
        all_same += same
        all_different += different
        texts_won += np.mean(same) > np.mean(different)
        nearest = max(others, key=lambda j: similarities[i, j])
        nearest_right += LABELS[nearest] == LABELS[i]
    assert np.mean(all_same) > 1.5 * np.mean(all_different)
    assert texts_won / len(indices) >= 0.8
    assert nearest_right / len(indices) >= 0.8
