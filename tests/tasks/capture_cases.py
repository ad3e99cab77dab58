"""Sentences a person types or says into a to-do app, with the tasks a careful reader finds in them.

Today is Monday 2026-11-23 (Asia/Seoul). Each case: the text, then per task a word its title must
contain and its due date (None: no date). Half Korean, half English. Used by the accuracy test and
by `python -m bench capture`, which reports the accuracy in docs/PERFORMANCE.md.
"""

TODAY = "2026-11-23"

CASES: list[tuple[str, list[tuple[str, str | None]]]] = [
    # Korean
    ("오늘 방 청소하고 빨래해야해", [("청소", "2026-11-23"), ("빨래", "2026-11-23")]),
    ("내일 치과 예약, 금요일까지 보고서 제출", [("치과", "2026-11-24"), ("보고서", "2026-11-27")]),
    ("모레 병원 가기", [("병원", "2026-11-25")]),
    ("다음 주 월요일까지 세금 신고하기", [("세금", "2026-11-30")]),
    ("다음 주 금요일에 발표 자료 만들기", [("발표", "2026-12-04")]),
    ("이번 주 토요일에 부모님 댁 방문", [("부모님", "2026-11-28")]),
    ("12월 1일까지 여권 갱신하기", [("여권", "2026-12-01")]),
    ("2026-12-01까지 연말정산 서류 제출", [("연말정산", "2026-12-01")]),
    ("장보고 나서 요리하기", [("장", None), ("요리", None)]),
    ("회의 준비하고 그리고 나서 메일 보내기", [("회의", None), ("메일", None)]),
    ("우유, 계란, 빵 사기", [("우유", None)]),
    ("내일 은행 가서 돈 찾기", [("은행", "2026-11-24")]),
    (
        "수요일에 팀 회의 참석하고 목요일에 보고서 마감",
        [("회의", "2026-11-25"), ("보고서", "2026-11-26")],
    ),
    ("오늘 저녁에 운동하기", [("운동", "2026-11-23")]),
    ("설거지하고 쓰레기 버리기", [("설거지", None), ("쓰레기", None)]),
    (
        "금요일까지 기획서 초안 작성하고 팀장님께 공유하기",
        [("기획서", "2026-11-27"), ("공유", "2026-11-27")],
    ),
    ("글피에 택배 반품하기", [("택배", "2026-11-26")]),
    ("3일 후에 도서관 책 반납", [("도서관", "2026-11-26")]),
    ("1월 5일 자동차 보험 갱신", [("보험", "2027-01-05")]),
    ("내일 아침 약 먹기", [("약", "2026-11-24")]),
    ("오늘 고양이 밥 주고 화분에 물 주기", [("고양이", "2026-11-23"), ("화분", "2026-11-23")]),
    ("엄마한테 전화하기", [("엄마", None)]),
    ("다음 주 수요일 치과 정기검진", [("치과", "2026-12-02")]),
    (
        "월요일까지 과제 제출하고 화요일에 시험 공부 시작",
        [("과제", "2026-11-30"), ("시험", "2026-12-01")],
    ),
    ("오늘 세탁소에 옷 맡기고 내일 찾기", [("세탁소", "2026-11-23"), ("찾", "2026-11-24")]),
    ("12월 24일 크리스마스 선물 사기", [("선물", "2026-12-24")]),
    ("토요일에 대청소, 일요일에 장보기", [("대청소", "2026-11-28"), ("장보기", "2026-11-29")]),
    ("보고서 검토하고 수정하고 제출하기", [("검토", None), ("수정", None), ("제출", None)]),
    ("내일까지 회의록 정리해서 메일 보내야 함", [("회의록", "2026-11-24")]),
    ("이번 주 금요일 친구 생일 파티 준비", [("생일", "2026-11-27")]),
    ("헬스장 등록하고 그리고 러닝화 사기", [("헬스장", None), ("러닝화", None)]),
    ("광고 기획안 검토하기", [("광고", None)]),
    # English
    (
        "Tomorrow call mom and buy milk, then finish the report by Friday",
        [("call mom", "2026-11-24"), ("milk", "2026-11-24"), ("report", "2026-11-27")],
    ),
    ("Buy milk, eggs and bread", [("milk", None)]),
    (
        "Email Sarah on 12/1 and book flights next Monday",
        [("Sarah", "2026-12-01"), ("flights", "2026-11-30")],
    ),
    ("I need to pay rent by December 1st", [("rent", "2026-12-01")]),
    ("Submit the tax form by 2026-12-01", [("tax", "2026-12-01")]),
    ("Clean the kitchen today", [("kitchen", "2026-11-23")]),
    (
        "Call the dentist tomorrow; then pick up the kids",
        [("dentist", "2026-11-24"), ("kids", "2026-11-24")],
    ),
    (
        "Finish slides on Wednesday and send them to Tom",
        [("slides", "2026-11-25"), ("send", "2026-11-25")],
    ),
    ("Water the plants", [("plants", None)]),
    ("Renew passport in 3 days", [("passport", "2026-11-26")]),
    (
        "Pay the electricity bill by Friday. Book a haircut next week",
        [("bill", "2026-11-27"), ("haircut", "2026-11-30")],
    ),
    ("Remember to buy a gift for Anna on December 24", [("gift", "2026-12-24")]),
    (
        "Write tests, fix the login bug and deploy on Thursday",
        [("tests", None), ("login", None), ("deploy", "2026-11-26")],
    ),
    ("Read chapter 4 and then write the summary", [("chapter", None), ("summary", None)]),
    ("Schedule a meeting with Alex this Friday", [("Alex", "2026-11-27")]),
    ("Take out the trash tonight", [("trash", "2026-11-23")]),
    ("Order printer ink and paper", [("ink", None)]),
    (
        "Prepare the budget by next Monday, then review it with Kim",
        [("budget", "2026-11-30"), ("review", "2026-11-30")],
    ),
    ("Visit grandma on Sunday", [("grandma", "2026-11-29")]),
    (
        "Return the library books tomorrow and pay the late fee",
        [("library", "2026-11-24"), ("fee", "2026-11-24")],
    ),
    ("Study for the exam on 12/3", [("exam", "2026-12-03")]),
    ("Send the invoice to the client", [("invoice", None)]),
    ("Go to the gym, then cook dinner", [("gym", None), ("dinner", None)]),
    ("Update the resume by the day after tomorrow", [("resume", "2026-11-25")]),
    ("Book the venue for January 10", [("venue", "2027-01-10")]),
    ("Text Ben and ask about Saturday plans", [("Ben", None), ("ask", None)]),
    ("Walk the dog and feed the cat today", [("dog", "2026-11-23"), ("cat", "2026-11-23")]),
    (
        "Finish the report by Friday and email it to the team",
        [("report", "2026-11-27"), ("email", "2026-11-27")],
    ),
    ("Print boarding passes on Tuesday", [("boarding", "2026-11-24")]),
    ("Buy apples, oranges and bananas tomorrow", [("apples", "2026-11-24")]),
    ("Check the car tires on Wednesday", [("tires", "2026-11-25")]),
]

# Texts with no task in them: the answer is an empty list.
NO_TASK = ["...", "ㅋㅋㅋ", "  ,  ", "hello", "안녕", "?!", "thanks"]
