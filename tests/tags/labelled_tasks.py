"""A labelled set for offline tag suggestions: 120 tasks in 10 topics, half Korean, each with the
tags a person gave it. Besides its topic tag, a task may carry one of the workspace-wide tags that
say nothing of the topic ("urgent", "weekend"), as real workspaces do; they are what the old vote
suggested for everything.

`evaluate` splits each topic: the first 8 tasks live in the workspace, the last 4 are asked about.
"""

TOPICS = {
    "health": [
        ("Book dentist appointment", ["health"]),
        ("Tooth ache, call the clinic", ["health", "urgent"]),
        ("Pick up prescription at the pharmacy", ["health"]),
        ("Annual checkup with the doctor", ["health"]),
        ("치과 예약하기", ["health"]),
        ("병원 정기 검진 받기", ["health"]),
        ("약국에서 처방약 찾기", ["health", "urgent"]),
        ("감기약 사기", ["health"]),
        ("Schedule the eye doctor visit", ["health"]),
        ("Get a flu shot at the clinic", ["health"]),
        ("안과 진료 예약", ["health"]),
        ("독감 예방 접종 맞기", ["health"]),
    ],
    "fitness": [
        ("Jog 5km in the park", ["fitness"]),
        ("Gym session: legs and back", ["fitness"]),
        ("Morning yoga for 30 minutes", ["fitness", "weekend"]),
        ("Swim 20 laps at the pool", ["fitness"]),
        ("공원에서 5km 달리기", ["fitness"]),
        ("헬스장 가서 하체 운동", ["fitness"]),
        ("아침 요가 30분", ["fitness"]),
        ("수영장에서 수영하기", ["fitness", "weekend"]),
        ("Run intervals on the track", ["fitness"]),
        ("Stretching and push-ups at the gym", ["fitness"]),
        ("저녁에 한강 달리기", ["fitness"]),
        ("헬스장 등 운동", ["fitness"]),
    ],
    "finance": [
        ("Pay the credit card bill", ["finance", "urgent"]),
        ("File the income tax return", ["finance"]),
        ("Review the monthly budget", ["finance"]),
        ("Transfer savings to the bank account", ["finance"]),
        ("카드 대금 납부하기", ["finance"]),
        ("종합소득세 신고하기", ["finance", "urgent"]),
        ("이번 달 가계부 정리", ["finance"]),
        ("은행 적금 이체하기", ["finance"]),
        ("Check the bank statement for the budget", ["finance"]),
        ("Pay the tax bill before the deadline", ["finance"]),
        ("은행 대출 이자 납부", ["finance"]),
        ("가계부 예산 점검하기", ["finance"]),
    ],
    "groceries": [
        ("Buy milk, eggs and bread", ["groceries"]),
        ("Grocery shopping for the week", ["groceries", "weekend"]),
        ("Get vegetables and fruit at the market", ["groceries"]),
        ("Order rice and coffee beans online", ["groceries"]),
        ("우유랑 계란 사기", ["groceries"]),
        ("마트에서 장보기", ["groceries", "weekend"]),
        ("시장에서 채소와 과일 사기", ["groceries"]),
        ("쌀이랑 커피 원두 주문", ["groceries"]),
        ("Buy bread and cheese at the grocery store", ["groceries"]),
        ("Pick up fruit and milk from the market", ["groceries"]),
        ("마트에서 우유와 빵 사기", ["groceries"]),
        ("시장에서 과일 장보기", ["groceries"]),
    ],
    "cleaning": [
        ("Vacuum the living room", ["cleaning"]),
        ("Do the laundry and fold clothes", ["cleaning", "weekend"]),
        ("Clean the bathroom and kitchen sink", ["cleaning"]),
        ("Take out the trash and recycling", ["cleaning"]),
        ("거실 청소기 돌리기", ["cleaning"]),
        ("빨래하고 옷 개기", ["cleaning"]),
        ("화장실 청소하기", ["cleaning", "weekend"]),
        ("분리수거 하기", ["cleaning"]),
        ("Clean the kitchen and wash the dishes", ["cleaning"]),
        ("Laundry: wash the bed sheets", ["cleaning"]),
        ("부엌 설거지와 청소", ["cleaning"]),
        ("이불 빨래하기", ["cleaning"]),
    ],
    "coding": [
        ("Fix the login bug in the API", ["coding", "urgent"]),
        ("Write unit tests for the sync module", ["coding"]),
        ("Review the pull request on the backend", ["coding"]),
        ("Deploy the new server release", ["coding"]),
        ("로그인 버그 수정", ["coding"]),
        ("동기화 모듈 단위 테스트 작성", ["coding"]),
        ("백엔드 코드 리뷰", ["coding", "urgent"]),
        ("서버 새 버전 배포", ["coding"]),
        ("Refactor the API code and fix the bug", ["coding"]),
        ("Write tests before the server deploy", ["coding"]),
        ("API 버그 수정하고 배포", ["coding"]),
        ("코드 리뷰 요청하기", ["coding"]),
    ],
    "travel": [
        ("Book flights to Jeju", ["travel"]),
        ("Reserve a hotel in Busan", ["travel", "weekend"]),
        ("Renew the passport", ["travel"]),
        ("Pack the suitcase for the trip", ["travel"]),
        ("제주도 항공권 예약", ["travel"]),
        ("부산 호텔 예약하기", ["travel"]),
        ("여권 갱신하기", ["travel", "urgent"]),
        ("여행 짐 싸기", ["travel"]),
        ("Check in online for the flight", ["travel"]),
        ("Book a hotel for the trip", ["travel"]),
        ("제주 여행 숙소 예약", ["travel"]),
        ("항공권 온라인 체크인", ["travel"]),
    ],
    "study": [
        ("Read chapter 3 of the statistics book", ["study"]),
        ("Practice English vocabulary flashcards", ["study"]),
        ("Finish the online course assignment", ["study", "urgent"]),
        ("Prepare for the TOEIC exam", ["study"]),
        ("통계학 책 3장 읽기", ["study"]),
        ("영어 단어 암기", ["study"]),
        ("온라인 강의 과제 제출", ["study"]),
        ("토익 시험 공부", ["study", "weekend"]),
        ("Study for the statistics exam", ["study"]),
        ("Review English vocabulary for the exam", ["study"]),
        ("통계학 시험 공부하기", ["study"]),
        ("영어 강의 듣고 단어 복습", ["study"]),
    ],
    "family": [
        ("Call mom on Sunday", ["family", "weekend"]),
        ("Buy a birthday gift for dad", ["family"]),
        ("Plan the family dinner", ["family"]),
        ("Visit grandma at her house", ["family"]),
        ("엄마한테 전화하기", ["family"]),
        ("아빠 생신 선물 사기", ["family"]),
        ("가족 저녁 식사 계획", ["family", "weekend"]),
        ("할머니 댁 방문", ["family"]),
        ("Call dad about the family dinner", ["family"]),
        ("Birthday party plan for mom", ["family"]),
        ("엄마 생신 선물 고르기", ["family"]),
        ("할머니께 전화 드리기", ["family"]),
    ],
    "work": [
        ("Prepare slides for the Monday meeting", ["work"]),
        ("Send the quarterly report to the manager", ["work", "urgent"]),
        ("Reply to the client email", ["work"]),
        ("Schedule the team meeting", ["work"]),
        ("월요일 회의 발표 자료 준비", ["work"]),
        ("분기 보고서 팀장님께 제출", ["work"]),
        ("고객 이메일 답장", ["work", "urgent"]),
        ("팀 회의 일정 잡기", ["work"]),
        ("Write the meeting notes and send the report", ["work"]),
        ("Email the client about the report", ["work"]),
        ("회의록 작성해서 팀에 공유", ["work"]),
        ("고객사 보고서 이메일 발송", ["work"]),
    ],
}

KNOWN, ASKED = 8, 4  # per topic: tasks stored in the workspace, tasks asked about


def split():
    """(known tasks, asked tasks) as lists of (title, tags)."""
    known, asked = [], []
    for tasks in TOPICS.values():
        assert len(tasks) == KNOWN + ASKED
        known += tasks[:KNOWN]
        asked += tasks[KNOWN:]
    return known, asked


def precision_at_3(suggest, asked) -> dict:
    """Mean precision of the first three suggestions over the asked tasks that got any (a task with
    no suggestion is counted in `coverage`, not as a hit or a miss), and how many got any."""
    precisions, answered = [], 0
    for title, tags in asked:
        top = suggest(title)[:3]
        if not top:
            continue
        answered += 1
        precisions.append(sum(tag in tags for tag in top) / len(top))
    return {
        "precision_at_3": sum(precisions) / len(precisions) if precisions else 0.0,
        "coverage": answered / len(asked),
        "asked": len(asked),
    }
