"""150 sentences the capture rules were never tuned on (issue 34), with the drafts a careful reader
expects, written before the parser was run on them.

Today is Wednesday 2026-12-09 in Asia/Seoul. A sentence is right only when the task count and, for
every task, the title (compared without case and end punctuation), the due date, the time, the
recurrence, the priority and the tags are right (and the category, where one is given). Used by
tests/tasks/test_capture_round_two.py and by `python -m bench capture`, which reports the accuracy
per language in docs/PERFORMANCE.md.
"""

from dataclasses import dataclass, field

TODAY = "2026-12-09"
TIMEZONE = "Asia/Seoul"


@dataclass(frozen=True)
class T:
    """An expected draft: time is local HH:MM in TIMEZONE; every is the RRULE; priority None means
    the default (medium)."""

    title: str
    due: str | None = None
    time: str | None = None
    every: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    category: str | None = None


@dataclass(frozen=True)
class Case:
    text: str
    expected: list[T] = field(default_factory=list)
    language: str = "ko"


WEEKDAYS = "MO,TU,WE,TH,FR"

KOREAN = [
    Case("일주일 뒤에 화분 물 주기", [T("화분 물 주기", "2026-12-16")]),
    Case("월말까지 카드값 정리하기", [T("카드값 정리하기", "2026-12-31")]),
    Case("다음 달 3일에 여권 갱신", [T("여권 갱신", "2027-01-03")]),
    Case("ㅎㅎ 오늘 날씨 좋다", []),
    # Recurrence
    Case(
        "매주 월요일 분리수거하기", [T("분리수거하기", "2026-12-14", every="FREQ=WEEKLY;BYDAY=MO")]
    ),
    Case("매일 아침 비타민 먹기", [T("비타민 먹기", "2026-12-09", every="FREQ=DAILY")]),
    Case(
        "격주 금요일 팀 회고",
        [T("팀 회고", "2026-12-11", every="FREQ=WEEKLY;INTERVAL=2;BYDAY=FR")],
    ),
    Case("매달 25일 월세 내기", [T("월세 내기", "2026-12-25", every="FREQ=MONTHLY;BYMONTHDAY=25")]),
    Case(
        "매년 3월 1일 자동차세 납부",
        [T("자동차세 납부", "2027-03-01", every="FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1")],
    ),
    Case(
        "평일마다 스트레칭하기",
        [T("스트레칭하기", "2026-12-09", every=f"FREQ=WEEKLY;BYDAY={WEEKDAYS}")],
    ),
    Case(
        "매주 화요일과 목요일에 요가 가기",
        [T("요가 가기", "2026-12-10", every="FREQ=WEEKLY;BYDAY=TU,TH")],
    ),
    Case("매일 밤 10시에 일기 쓰기", [T("일기 쓰기", "2026-12-09", "22:00", every="FREQ=DAILY")]),
    Case("주말마다 대청소하기", [T("대청소하기", "2026-12-12", every="FREQ=WEEKLY;BYDAY=SA,SU")]),
    Case(
        "2주마다 화분 분갈이 확인",
        [T("화분 분갈이 확인", "2026-12-09", every="FREQ=WEEKLY;INTERVAL=2")],
    ),
    Case(
        "매월 말일 가계부 정리하기",
        [T("가계부 정리하기", "2026-12-31", every="FREQ=MONTHLY;BYMONTHDAY=-1")],
    ),
    Case(
        "매주 일요일 저녁 8시 주간 계획 세우기",
        [T("주간 계획 세우기", "2026-12-13", "20:00", every="FREQ=WEEKLY;BYDAY=SU")],
    ),
    Case("매일 강아지 산책시키기", [T("강아지 산책시키기", "2026-12-09", every="FREQ=DAILY")]),
    Case("3일마다 물 갈아주기", [T("물 갈아주기", "2026-12-09", every="FREQ=DAILY;INTERVAL=3")]),
    Case(
        "매달 첫째 주 월요일 월간 보고",
        [T("월간 보고", "2027-01-04", every="FREQ=MONTHLY;BYDAY=1MO")],
    ),
    Case(
        "매주 수요일 오후 2시 팀 회의",
        [T("팀 회의", "2026-12-09", "14:00", every="FREQ=WEEKLY;BYDAY=WE")],
    ),
    # Times
    Case("내일 오후 3시 치과 예약", [T("치과 예약", "2026-12-10", "15:00")]),
    Case("오늘 저녁 7시에 친구 만나기", [T("친구 만나기", "2026-12-09", "19:00")]),
    Case("금요일 오전 10시 반 면접 보기", [T("면접 보기", "2026-12-11", "10:30")]),
    Case("모레 아침 9시에 은행 가기", [T("은행 가기", "2026-12-11", "09:00")]),
    Case("오후 4시까지 견적서 보내기", [T("견적서 보내기", "2026-12-09", "16:00")]),
    Case(
        "12월 20일 오후 6시 30분 송년회 예약 확인", [T("송년회 예약 확인", "2026-12-20", "18:30")]
    ),
    Case("내일 14:00 고객 미팅", [T("고객 미팅", "2026-12-10", "14:00")]),
    Case("정오에 점심 약속 잡기", [T("점심 약속 잡기", "2026-12-09", "12:00")]),
    Case("다음 주 화요일 오전 11시 병원 진료", [T("병원 진료", "2026-12-15", "11:00")]),
    Case("밤 11시 전에 택배 반품 신청하기", [T("택배 반품 신청하기", "2026-12-09", "23:00")]),
    # Markers
    Case("급함 세금계산서 발행하기", [T("세금계산서 발행하기", priority="critical")]),
    Case("보고서 검토하기 !!", [T("보고서 검토하기", priority="critical")]),
    Case("#운동 헬스장 등록하기", [T("헬스장 등록하기", tags=("운동",))]),
    Case("@회사 내일 발표 자료 준비하기", [T("발표 자료 준비하기", "2026-12-10", category="회사")]),
    Case("중요 계약서 서명 받기 p1", [T("계약서 서명 받기", priority="critical")]),
    Case(
        "p2 이번 주 금요일까지 견적 비교하기",
        [T("견적 비교하기", "2026-12-11", priority="high")],
    ),
    Case("장보기 #집안일 #주말", [T("장보기", tags=("집안일", "주말"))]),
    Case("긴급 서버 점검하기", [T("서버 점검하기", priority="critical")]),
    Case(
        "내일까지 과제 제출 ! #학교",
        [T("과제 제출", "2026-12-10", priority="high", tags=("학교",))],
    ),
    Case("중요 부모님께 전화하기", [T("부모님께 전화하기", priority="high")]),
    Case("p3 책상 정리하기", [T("책상 정리하기", priority="medium")]),
    Case("@개인 p4 사진 정리하기", [T("사진 정리하기", priority="low", category="개인")]),
    # Relative dates, month ends, a day of the month
    Case("3주 뒤에 정기검진 예약하기", [T("정기검진 예약하기", "2026-12-30")]),
    Case("열흘 후 보험 서류 제출", [T("보험 서류 제출", "2026-12-19")]),
    Case("다음 달 15일까지 원고 마감", [T("원고 마감", "2027-01-15")]),
    Case("이번 달 말까지 연차 신청하기", [T("연차 신청하기", "2026-12-31")]),
    Case("두 달 뒤 차량 점검", [T("차량 점검", "2027-02-09")]),
    Case("5일에 관리비 내기", [T("관리비 내기", "2027-01-05")]),
    Case("12월 24일까지 카드 쓰기", [T("카드 쓰기", "2026-12-24")]),
    Case("오늘 안에 이메일 답장하기", [T("이메일 답장하기", "2026-12-09")]),
    # Chatter
    Case("아 진짜 피곤하다", []),
    Case("ㅋㅋㅋ 오늘 너무 웃겼어", []),
    Case("배고프다", []),
    Case("오늘 날씨 진짜 춥네", []),
    Case("주말 잘 보냈어?", []),
    Case("좋은 아침이에요", []),
    Case("와 대박", []),
    Case("고마워 ㅎㅎ", []),
    # Several tasks, and everything at once
    Case(
        "내일 세차하고 모레 타이어 교체하기",
        [T("세차하기", "2026-12-10"), T("타이어 교체하기", "2026-12-11")],
    ),
    Case("설거지하고 빨래 개기", [T("설거지하기"), T("빨래 개기")]),
    Case(
        "매일 아침 물 마시기 #건강",
        [T("물 마시기", "2026-12-09", every="FREQ=DAILY", tags=("건강",))],
    ),
    Case(
        "오늘 오후 5시까지 발표 자료 제출하고 내일 회의 준비하기",
        [T("발표 자료 제출하기", "2026-12-09", "17:00"), T("회의 준비하기", "2026-12-10")],
    ),
    Case("토요일 오전 11시에 결혼식 참석", [T("결혼식 참석", "2026-12-12", "11:00")]),
    Case(
        "매주 금요일 오후 6시 주간 보고서 제출 !!",
        [
            T("주간 보고서 제출", "2026-12-11", "18:00", "FREQ=WEEKLY;BYDAY=FR", "critical"),
        ],
    ),
    Case("목요일마다 분리수거", [T("분리수거", "2026-12-10", every="FREQ=WEEKLY;BYDAY=TH")]),
    Case(
        "매일 저녁 9시 영어 단어 외우기",
        [T("영어 단어 외우기", "2026-12-09", "21:00", every="FREQ=DAILY")],
    ),
    Case(
        "매년 12월 31일 한 해 회고 쓰기",
        [T("한 해 회고 쓰기", "2026-12-31", every="FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=31")],
    ),
    Case("#독서 이번 주말에 책 한 권 읽기", [T("책 한 권 읽기", "2026-12-12", tags=("독서",))]),
    Case(
        "다음 주 금요일 오후 3시 치과 !!", [T("치과", "2026-12-18", "15:00", priority="critical")]
    ),
    Case(
        "매주 월요일 오전 9시 주간 회의 @회사",
        [T("주간 회의", "2026-12-14", "09:00", "FREQ=WEEKLY;BYDAY=MO", category="회사")],
    ),
    Case("일주일에 한 번 화분 물 주기", [T("화분 물 주기", "2026-12-09", every="FREQ=WEEKLY")]),
    Case("매주 토요일 아침 장보기", [T("장보기", "2026-12-12", every="FREQ=WEEKLY;BYDAY=SA")]),
    Case("이번 달 안에 건강검진 받기", [T("건강검진 받기", "2026-12-31")]),
    Case("내년 1월 2일 시무식 준비", [T("시무식 준비", "2027-01-02")]),
    Case(
        "급함!! 내일 오전 8시까지 보고서 제출",
        [T("보고서 제출", "2026-12-10", "08:00", priority="critical")],
    ),
]

ENGLISH = [
    Case("In three days, return the library books", [T("return the library books", "2026-12-12")]),
    Case("Renew passport in 2 weeks", [T("Renew passport", "2026-12-23")]),
    Case(
        "Finish the quarterly report by end of month",
        [T("Finish the quarterly report", "2026-12-31")],
    ),
    Case("Pay rent on the 5th", [T("Pay rent", "2027-01-05")]),
    Case("lol nice weather today", []),
    # Recurrence
    Case(
        "Take out the trash every Monday",
        [T("Take out the trash", "2026-12-14", every="FREQ=WEEKLY;BYDAY=MO")],
    ),
    Case(
        "every other Tuesday water the cactus",
        [T("water the cactus", "2026-12-15", every="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU")],
    ),
    Case(
        "Team sync every 3rd Friday", [T("Team sync", "2026-12-18", every="FREQ=MONTHLY;BYDAY=3FR")]
    ),
    Case(
        "Stretch every weekday", [T("Stretch", "2026-12-09", every=f"FREQ=WEEKLY;BYDAY={WEEKDAYS}")]
    ),
    Case(
        "Call grandma every Sunday at 5pm",
        [T("Call grandma", "2026-12-13", "17:00", every="FREQ=WEEKLY;BYDAY=SU")],
    ),
    Case(
        "Pay the credit card bill every month on the 15th",
        [T("Pay the credit card bill", "2026-12-15", every="FREQ=MONTHLY;BYMONTHDAY=15")],
    ),
    Case(
        "Back up the laptop every 2 weeks",
        [T("Back up the laptop", "2026-12-09", every="FREQ=WEEKLY;INTERVAL=2")],
    ),
    Case("Water plants daily", [T("Water plants", "2026-12-09", every="FREQ=DAILY")]),
    Case("Create monthly report", [T("Create monthly report")]),
    Case("Review goals every morning", [T("Review goals", "2026-12-09", every="FREQ=DAILY")]),
    Case(
        "Dentist checkup every 6 months",
        [T("Dentist checkup", "2026-12-09", every="FREQ=MONTHLY;INTERVAL=6")],
    ),
    Case(
        "Renew the domain every year on March 3",
        [T("Renew the domain", "2027-03-03", every="FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3")],
    ),
    Case(
        "Gym every Monday, Wednesday and Friday at 7am",
        [T("Gym", "2026-12-09", "07:00", every="FREQ=WEEKLY;BYDAY=MO,WE,FR")],
    ),
    Case("Clean the fridge weekly", [T("Clean the fridge", "2026-12-09", every="FREQ=WEEKLY")]),
    Case(
        "every day at 9pm read for 30 minutes",
        [T("read for 30 minutes", "2026-12-09", "21:00", every="FREQ=DAILY")],
    ),
    Case(
        "Submit timesheet every Friday !!",
        [T("Submit timesheet", "2026-12-11", every="FREQ=WEEKLY;BYDAY=FR", priority="critical")],
    ),
    Case("Every weekend call mom", [T("call mom", "2026-12-12", every="FREQ=WEEKLY;BYDAY=SA,SU")]),
    Case(
        "Pay the phone bill on the last day of every month",
        [T("Pay the phone bill", "2026-12-31", every="FREQ=MONTHLY;BYMONTHDAY=-1")],
    ),
    Case(
        "every 10 days change the water filter",
        [T("change the water filter", "2026-12-09", every="FREQ=DAILY;INTERVAL=10")],
    ),
    Case(
        "Standup every weekday at 9:30am",
        [T("Standup", "2026-12-09", "09:30", every=f"FREQ=WEEKLY;BYDAY={WEEKDAYS}")],
    ),
    # Times
    Case("Call the plumber tomorrow at 3pm", [T("Call the plumber", "2026-12-10", "15:00")]),
    Case("Meeting with Alex at 15:00", [T("Meeting with Alex", "2026-12-09", "15:00")]),
    Case("Pick up the kids at 4:30pm", [T("Pick up the kids", "2026-12-09", "16:30")]),
    Case("Friday 10am dentist", [T("dentist", "2026-12-11", "10:00")]),
    Case("Send the invoice by 5 pm tomorrow", [T("Send the invoice", "2026-12-10", "17:00")]),
    Case("Lunch with Sam at noon on Thursday", [T("Lunch with Sam", "2026-12-10", "12:00")]),
    Case("Flight check-in Dec 18 at 6:45am", [T("Flight check-in", "2026-12-18", "06:45")]),
    Case("Book a table for 8pm tonight", [T("Book a table", "2026-12-09", "20:00")]),
    Case("next Tuesday at 11 am call the bank", [T("call the bank", "2026-12-15", "11:00")]),
    Case("Movie night Saturday 7:30 pm", [T("Movie night", "2026-12-12", "19:30")]),
    # Markers
    Case("Fix the login bug p1", [T("Fix the login bug", priority="critical")]),
    Case("!! renew car insurance", [T("renew car insurance", priority="critical")]),
    Case(
        "Buy a birthday gift for Mia #family", [T("Buy a birthday gift for Mia", tags=("family",))]
    ),
    Case("urgent: reply to the landlord", [T("reply to the landlord", priority="critical")]),
    Case("Prepare slides @work tomorrow", [T("Prepare slides", "2026-12-10", category="work")]),
    Case(
        "p2 update the budget sheet by Friday",
        [T("update the budget sheet", "2026-12-11", priority="high")],
    ),
    Case(
        "Email the contract to legal asap", [T("Email the contract to legal", priority="critical")]
    ),
    Case(
        "Order printer ink #office #supplies", [T("Order printer ink", tags=("office", "supplies"))]
    ),
    Case("important: sign the lease", [T("sign the lease", priority="high")]),
    Case("Tidy the garage p4", [T("Tidy the garage", priority="low")]),
    Case(
        "Book vet appointment ! #pets",
        [T("Book vet appointment", priority="high", tags=("pets",))],
    ),
    Case("Buy milk!", [T("Buy milk")]),
    Case("p3 learn a new song on guitar", [T("learn a new song on guitar", priority="medium")]),
    Case(
        "Pay the electricity bill today !!!",
        [T("Pay the electricity bill", "2026-12-09", priority="critical")],
    ),
    Case(
        "Call the insurance company @personal p2",
        [T("Call the insurance company", priority="high", category="personal")],
    ),
    # Chatter
    Case("what a day", []),
    Case("haha that was fun", []),
    Case("I'm so tired", []),
    Case("good morning!", []),
    Case("The weather is lovely today", []),
    Case("ugh mondays", []),
    Case("thanks, you too", []),
    # Relative dates, days of the month, several tasks
    Case("Return the rental car in a week", [T("Return the rental car", "2026-12-16")]),
    Case("Cancel the gym membership on the 20th", [T("Cancel the gym membership", "2026-12-20")]),
    Case("Send the tax documents in 10 days", [T("Send the tax documents", "2026-12-19")]),
    Case("Clean the gutters in a month", [T("Clean the gutters", "2027-01-09")]),
    Case(
        "Buy groceries and then cook dinner at 7pm",
        [T("Buy groceries"), T("cook dinner", "2026-12-09", "19:00")],
    ),
    Case(
        "Tomorrow: dentist at 9am, then pick up dry cleaning",
        [T("dentist", "2026-12-10", "09:00"), T("pick up dry cleaning", "2026-12-10")],
    ),
    Case(
        "Finish the essay by end of the month and email it to the professor",
        [T("Finish the essay", "2026-12-31"), T("email it to the professor", "2026-12-31")],
    ),
    Case("Update the resume on the 1st", [T("Update the resume", "2027-01-01")]),
    Case(
        "Review the pull request in 2 days #dev",
        [T("Review the pull request", "2026-12-11", tags=("dev",))],
    ),
    Case(
        "Check the smoke alarm batteries every 3 months",
        [T("Check the smoke alarm batteries", "2026-12-09", every="FREQ=MONTHLY;INTERVAL=3")],
    ),
    Case(
        "Water the garden every other day",
        [T("Water the garden", "2026-12-09", every="FREQ=DAILY;INTERVAL=2")],
    ),
    Case("Pay the water bill at the end of the month", [T("Pay the water bill", "2026-12-31")]),
    Case(
        "Bake cookies for the party on December 19 at 2pm",
        [T("Bake cookies for the party", "2026-12-19", "14:00")],
    ),
]
ENGLISH = [Case(c.text, c.expected, "en") for c in ENGLISH]

MIXED = [
    Case("내일 오후 2시 Zoom 미팅", [T("Zoom 미팅", "2026-12-10", "14:00")], "mixed"),
    Case(
        "매주 금요일 PR 리뷰하기",
        [T("PR 리뷰하기", "2026-12-11", every="FREQ=WEEKLY;BYDAY=FR")],
        "mixed",
    ),
    Case(
        "#work 금요일까지 slides 수정하기",
        [T("slides 수정하기", "2026-12-11", tags=("work",))],
        "mixed",
    ),
    Case("p1 AWS 요금 확인하기", [T("AWS 요금 확인하기", priority="critical")], "mixed"),
    Case(
        "Netflix 구독 해지하기 이번 달 말까지", [T("Netflix 구독 해지하기", "2026-12-31")], "mixed"
    ),
]

CASES = KOREAN + ENGLISH + MIXED


def normalised_title(title: str) -> str:
    return " ".join(title.lower().strip(" .,!?").split())


def is_right(case: Case, found) -> bool:
    """Every task found, in order, with its title, due date, time, recurrence, priority and tags
    (and category where one is expected); `found` is tasks.capture_rules.CapturedTask's."""
    if len(found) != len(case.expected):
        return False
    return all(
        normalised_title(want.title) == normalised_title(task.title)
        and want.due == (task.due_date and task.due_date.isoformat())
        and want.time == (task.due_time and task.due_time.strftime("%H:%M"))
        and want.every == task.recurrence
        and want.priority == task.priority
        and list(want.tags) == task.tags
        and (want.category is None or want.category == task.category)
        for want, task in zip(case.expected, found, strict=True)
    )
