"""Run or resume rounds without Prefect: python -m mmupt_core.rounds --config conf/tiny.yaml --rounds 3"""

from mmupt_core.rounds.driver import main

if __name__ == "__main__":  # pragma: no cover
    main()
